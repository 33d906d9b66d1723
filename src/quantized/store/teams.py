"""Teams, their members and their keys in the database.

Every write records the team in the change log (``changes.TEAM``), in the caller's
transaction: servers then rebuild their key index, whose callers carry their team.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.auth.api_keys import ApiKey
from quantized.auth.teams import Team
from quantized.store import changes
from quantized.store import keys as key_store
from quantized.store.tables import api_keys, team_members, teams


@dataclass(frozen=True, slots=True)
class TeamRow:
    """A stored team, without its members."""

    id: int
    name: str
    models: tuple[str, ...] | None
    """Ids or globs its members may use; ``None``: every model."""
    created_at: float
    updated_at: float

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "models": list(self.models) if self.models is not None else None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Member:
    person: str
    """A token subject or an e-mail address, as tokens name the person."""
    added_at: float


def _team(row: Any) -> TeamRow:
    return TeamRow(
        id=row.id,
        name=row.name,
        models=tuple(row.models) if row.models is not None else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def all_teams(conn: AsyncConnection) -> list[Team]:
    """Every team with its members, by id."""
    members: dict[int, set[str]] = defaultdict(set)
    for team_id, person in await conn.execute(
        select(team_members.c.team_id, team_members.c.person)
    ):
        members[team_id].add(person)
    result = await conn.execute(select(teams).order_by(teams.c.id))
    return [
        Team(
            id=row.id,
            name=row.name,
            models=tuple(row.models) if row.models is not None else None,
            members=frozenset(members.get(row.id, ())),
        )
        for row in result
    ]


async def team_rows(conn: AsyncConnection) -> list[TeamRow]:
    result = await conn.execute(select(teams).order_by(teams.c.id))
    return [_team(row) for row in result]


async def get_team(conn: AsyncConnection, team_id: int) -> TeamRow | None:
    result = await conn.execute(select(teams).where(teams.c.id == team_id))
    row = result.one_or_none()
    return _team(row) if row is not None else None


async def team_named(conn: AsyncConnection, name: str) -> TeamRow | None:
    result = await conn.execute(select(teams).where(teams.c.name == name))
    row = result.one_or_none()
    return _team(row) if row is not None else None


async def insert_team(
    conn: AsyncConnection, *, name: str, models: tuple[str, ...] | None, at: float
) -> TeamRow:
    result = await conn.execute(
        insert(teams).returning(*teams.c),
        {
            "name": name,
            "models": list(models) if models is not None else None,
            "created_at": at,
            "updated_at": at,
        },
    )
    team = _team(result.one())
    await changes.record(conn, changes.TEAM, [str(team.id)])
    return team


async def update_team(
    conn: AsyncConnection, team_id: int, values: dict[str, object], at: float
) -> TeamRow:
    await conn.execute(update(teams).where(teams.c.id == team_id).values(**values, updated_at=at))
    await changes.record(conn, changes.TEAM, [str(team_id)])
    found = await get_team(conn, team_id)
    assert found is not None  # noqa: S101 - updated in this transaction
    return found


async def delete_team(conn: AsyncConnection, team_id: int) -> None:
    """The team and its memberships (its keys are the caller's business)."""
    await conn.execute(delete(team_members).where(team_members.c.team_id == team_id))
    await conn.execute(delete(teams).where(teams.c.id == team_id))
    await changes.record(conn, changes.TEAM, [str(team_id)])


async def members(conn: AsyncConnection, team_id: int) -> list[Member]:
    """A team's members, by person."""
    result = await conn.execute(
        select(team_members.c.person, team_members.c.added_at)
        .where(team_members.c.team_id == team_id)
        .order_by(team_members.c.person)
    )
    return [Member(person, added_at) for person, added_at in result]


async def get_member(conn: AsyncConnection, team_id: int, person: str) -> Member | None:
    result = await conn.execute(
        select(team_members.c.added_at).where(
            team_members.c.team_id == team_id, team_members.c.person == person
        )
    )
    added_at = result.scalar_one_or_none()
    return Member(person, added_at) if added_at is not None else None


async def add_member(conn: AsyncConnection, team_id: int, person: str, at: float) -> Member:
    await conn.execute(insert(team_members), {"team_id": team_id, "person": person, "added_at": at})
    await changes.record(conn, changes.TEAM, [str(team_id)])
    return Member(person, at)


async def remove_member(conn: AsyncConnection, team_id: int, person: str) -> None:
    await conn.execute(
        delete(team_members).where(
            team_members.c.team_id == team_id, team_members.c.person == person
        )
    )
    await changes.record(conn, changes.TEAM, [str(team_id)])


async def member_counts(conn: AsyncConnection) -> dict[int, int]:
    result = await conn.execute(
        select(team_members.c.team_id, func.count()).group_by(team_members.c.team_id)
    )
    return {team_id: int(count) for team_id, count in result}


async def team_keys(conn: AsyncConnection, team_id: int) -> list[ApiKey]:
    """Every key issued for the team, revoked ones too, by id."""
    result = await conn.execute(select(api_keys.c.id).where(api_keys.c.team_id == team_id))
    found = await key_store.keys_by_id(conn, [key_id for (key_id,) in result])
    return sorted(found, key=lambda key: key.id)


async def live_key_counts(conn: AsyncConnection) -> dict[int, int]:
    """Per team, its keys that are not revoked."""
    result = await conn.execute(
        select(api_keys.c.team_id, func.count())
        .where(api_keys.c.team_id.is_not(None), api_keys.c.revoked_at.is_(None))
        .group_by(api_keys.c.team_id)
    )
    return {team_id: int(count) for team_id, count in result}
