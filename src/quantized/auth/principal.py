"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from quantized.catalog.access import ModelAccess


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an API key today, a JWT subject later."""

    kind: str
    id: str
    name: str
    access: ModelAccess
    is_admin: bool = False
