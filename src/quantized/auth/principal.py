"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from quantized.catalog.access import ModelAccess
from quantized.limits import Limits


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an API key today, a JWT subject later."""

    kind: str
    id: str
    name: str
    access: ModelAccess
    is_admin: bool = False
    limits: Limits | None = None
    """This caller's rate limits; ``None``: the gateway's defaults."""

    @property
    def subject(self) -> str:
        """``kind:id``, the key of everything counted per caller."""
        return f"{self.kind}:{self.id}"
