"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from quantized.catalog.access import ModelAccess
from quantized.limits import Limits
from quantized.usage.budgets import scopes_of


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an API key, or a JWT subject."""

    kind: str
    id: str
    name: str
    access: ModelAccess
    is_admin: bool = False
    limits: Limits | None = None
    """This caller's rate limits; ``None``: the gateway's defaults."""
    team: int | None = None
    """The team the caller belongs to (a key's, or the one a token names or is a member of)."""
    person: str | None = None
    """The person behind the caller: a token's subject, or the one a key was issued to."""
    team_name: str | None = None
    """The team a token's claim names, until it is resolved to ``team``."""

    @property
    def scopes(self) -> list[tuple[str, str]]:
        """What the caller's spending counts against: its key, its person, its team."""
        return scopes_of(self.kind, self.id, self.team, self.person)

    @property
    def subject(self) -> str:
        """``kind:id``, the key of everything counted per caller."""
        return f"{self.kind}:{self.id}"
