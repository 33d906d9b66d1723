"""Teams: the people in them, the models they may use, and where each caller belongs.

A key belongs to the team it was issued for (``team_id``) and to a person (``person``).
A token's caller is the person its subject names; its team is the one its team claim
names (``QUANTIZED_JWT_TEAM_CLAIM``), or else the team the person is a member of (the
first by id when several: name the team in the claim to choose). A caller in a team
may use the models both the team and its own key or token allow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from quantized.auth.jwt.claims import invalid_token
from quantized.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    models: tuple[str, ...] | None = None
    """Ids or globs the team's members may use; ``None``: every model."""
    members: frozenset[str] = frozenset()
    """People: token subjects or e-mail addresses, as tokens name them."""


class Teams:
    """Every team, by id, by name and by member (read by requests, replaced on change)."""

    __slots__ = ("_by_id", "_by_name", "_by_person", "_placed")

    def __init__(self, teams: Iterable[Team] = ()) -> None:
        self._by_id = {t.id: t for t in teams}
        self._by_name = {t.name: t for t in self._by_id.values()}
        by_person: dict[str, Team] = {}
        for team in sorted(self._by_id.values(), key=lambda t: t.id):
            for person in team.members:
                by_person.setdefault(person, team)
        self._by_person = by_person
        self._placed: dict[Principal, Principal] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, team_id: int | None) -> Team | None:
        return self._by_id.get(team_id) if team_id is not None else None

    def named(self, name: str) -> Team | None:
        return self._by_name.get(name)

    def of_person(self, person: str) -> Team | None:
        """The team a person is a member of (the first by id, if several)."""
        return self._by_person.get(person)

    def join(self, principal: Principal) -> Principal:
        """A token's caller placed in its team (with the team's models), or a 401 when its
        claim names a team that does not exist. Keys are placed when the index loads them."""
        placed = self._placed.get(principal)
        if placed is not None:
            return placed
        if principal.team_name is not None:
            team = self.named(principal.team_name)
            if team is None:
                raise invalid_token(
                    f"Invalid token: it names team '{principal.team_name[:200]}', which does "
                    "not exist here."
                )
        else:
            team = self.of_person(principal.id)
        placed = place(principal, team)
        if len(self._placed) >= 10_000:
            self._placed.clear()
        self._placed[principal] = placed
        return placed


def place(principal: Principal, team: Team | None) -> Principal:
    """The caller as a member of ``team``: its models are those both allow."""
    if team is None:
        return dataclasses.replace(principal, team=None) if principal.team else principal
    return dataclasses.replace(
        principal, team=team.id, access=principal.access.intersect(team.models)
    )
