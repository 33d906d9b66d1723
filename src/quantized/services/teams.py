"""Teams and the people in them (shared by the CLI and the admin API).

A team names the models its members may use (``None``: every model); a key issued
for it, and a token whose caller belongs to it, may use the models both the team
and the key or token allow. Every change is one transaction with its change-log
rows and its audit entries (entity ``team``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.auth.api_keys import ApiKey
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.services.budgets import remove_scope_budgets
from quantized.services.keys import check_patterns, check_person, public
from quantized.store import audit
from quantized.store import keys as key_store
from quantized.store import teams as team_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction
from quantized.store.teams import Member, TeamRow
from quantized.values import LINE_CHARACTER, MAX_ID, is_line, parse_id, shown

TEAM_NAME = f"^{LINE_CHARACTER}*[^\\s0-9\\x00-\\x1f\\x7f]{LINE_CHARACTER}*$"
"""A team's name: a line with a character that is neither a space nor an ASCII digit
(ids are digits: the CLI takes a team's id or its name)."""
_TEAM_NAME = re.compile(TEAM_NAME)


@dataclass(frozen=True, slots=True)
class TeamSummary:
    team: TeamRow
    member_count: int
    key_count: int
    """Its keys that are not revoked."""

    def public(self) -> dict[str, Any]:
        return {
            **self.team.public(),
            "member_count": self.member_count,
            "key_count": self.key_count,
        }


@dataclass(frozen=True, slots=True)
class TeamDetail:
    team: TeamRow
    members: tuple[Member, ...]
    key_ids: tuple[int, ...]
    """Its keys that are not revoked."""

    def public(self) -> dict[str, Any]:
        summary = TeamSummary(self.team, len(self.members), len(self.key_ids))
        return {
            **summary.public(),
            "members": [m.person for m in self.members],
            "key_ids": list(self.key_ids),
        }


def check_team_name(name: str) -> str:
    """1 to 200 characters without control characters (spaces around are trimmed), not
    only digits and spaces: digits name teams by id."""
    cleaned = name.strip()
    if not cleaned or not is_line(cleaned):
        raise InvalidRequestError(
            "invalid team name: use 1 to 200 characters, no control characters", param="name"
        )
    if not _TEAM_NAME.match(cleaned):
        raise InvalidRequestError(
            "invalid team name: it cannot be only digits and spaces (digits name teams by id)",
            param="name",
        )
    return cleaned


def _not_found(team_id: int | str) -> NotFoundError:
    return NotFoundError(f"no team with id {team_id}", param="id", code="team_not_found")


async def _team(conn: AsyncConnection, team_id: int) -> TeamRow:
    found = await team_store.get_team(conn, team_id) if 0 < team_id <= MAX_ID else None
    if found is None:
        raise _not_found(team_id)
    return found


async def _unique(conn: AsyncConnection, name: str) -> None:
    if await team_store.team_named(conn, name) is not None:
        raise ConflictError(
            f"a team named {shown(name, 80)!r} already exists", param="name", code="team_exists"
        )


def _patterns(patterns: tuple[str, ...] | None) -> list[str] | None:
    return list(patterns) if patterns is not None else None


async def find_team(engine: AsyncEngine, text: str) -> TeamRow:
    """A team by id (digits) or by name, as the CLI names them."""
    team_id = parse_id(text)
    async with connection(engine) as conn:
        found = (
            await team_store.get_team(conn, team_id)
            if team_id is not None
            else await team_store.team_named(conn, text.strip())
        )
    if found is None:
        raise NotFoundError(f"no team {shown(text, 80)!r}", param="team", code="team_not_found")
    return found


async def create_team(
    engine: AsyncEngine, actor: Actor, name: str, models: Sequence[str] | None = None
) -> TeamDetail:
    cleaned = check_team_name(name)
    async with transaction(engine) as conn:
        await _unique(conn, cleaned)
        team = await team_store.insert_team(
            conn, name=cleaned, models=await check_patterns(conn, models), at=time.time()
        )
        await audit.record(
            conn, actor, [audit.Change("team.create", "team", str(team.id), None, team.public())]
        )
    return TeamDetail(team, (), ())


async def list_teams(engine: AsyncEngine) -> list[TeamSummary]:
    async with connection(engine) as conn:
        found = await team_store.team_rows(conn)
        members = await team_store.member_counts(conn)
        keys = await team_store.live_key_counts(conn)
    return [TeamSummary(t, members.get(t.id, 0), keys.get(t.id, 0)) for t in found]


async def _detail(
    conn: AsyncConnection, team: TeamRow, keys: Sequence[ApiKey] | None = None
) -> TeamDetail:
    if keys is None:
        keys = await team_store.team_keys(conn, team.id)
    return TeamDetail(
        team,
        tuple(await team_store.members(conn, team.id)),
        tuple(k.id for k in keys if k.revoked_at is None),
    )


async def get_team(engine: AsyncEngine, team_id: int) -> TeamDetail:
    async with connection(engine) as conn:
        return await _detail(conn, await _team(conn, team_id))


async def update_team(
    engine: AsyncEngine, actor: Actor, team_id: int, changes: dict[str, Any]
) -> TeamDetail:
    """Change ``name`` or ``models`` (``None``: every model); what is not given stays."""
    async with transaction(engine) as conn:
        before = await _team(conn, team_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            name = check_team_name(changes["name"])
            if name != before.name:
                await _unique(conn, name)
                values["name"] = name
        if "models" in changes:
            patterns = _patterns(await check_patterns(conn, changes["models"]))
            if patterns != _patterns(before.models):
                values["models"] = patterns
        if not values:
            return await _detail(conn, before)
        after = await team_store.update_team(conn, team_id, values, time.time())
        await audit.record(
            conn,
            actor,
            [audit.Change("team.update", "team", str(team_id), before.public(), after.public())],
        )
        return await _detail(conn, after)


async def delete_team(
    engine: AsyncEngine, actor: Actor, team_id: int, *, revoke_keys: bool = False
) -> TeamDetail:
    """Delete a team, its memberships and its budgets; the team as it was is returned.

    A team whose keys are not all revoked is kept (409 ``team_has_keys``), unless
    ``revoke_keys``: they are revoked in the same transaction. Its keys leave the team
    (``team_id`` becomes null), so that no later team is taken for theirs.
    """
    async with transaction(engine) as conn:
        team = await _team(conn, team_id)
        keys = await team_store.team_keys(conn, team_id)
        detail = await _detail(conn, team, keys)
        if detail.key_ids and not revoke_keys:
            listed = ", ".join(map(str, detail.key_ids[:10]))
            more = ", …" if len(detail.key_ids) > 10 else ""
            count = len(detail.key_ids)
            raise ConflictError(
                f"team {team.name!r} has {count} {'key' if count == 1 else 'keys'} that "
                f"{'is' if count == 1 else 'are'} not revoked "
                f"({listed}{more}): revoke them first, or have them revoked with the team "
                "(revoke_keys=true, or --revoke-keys)",
                param="revoke_keys",
                code="team_has_keys",
            )
        now = time.time()
        entries: list[audit.Change] = []
        for key in keys:
            values: dict[str, object] = {"team_id": None}
            if key.revoked_at is None:
                values["revoked_at"] = now
            after = await key_store.update_key(conn, key.id, values)
            action = "key.revoke" if key.revoked_at is None else "key.update"
            entries.append(audit.Change(action, "key", str(key.id), public(key), public(after)))
        entries.extend(await remove_scope_budgets(conn, "team", str(team_id)))
        await team_store.delete_team(conn, team_id)
        before = {
            **team.public(),
            "members": [m.person for m in detail.members],
            "key_ids": list(detail.key_ids),
        }
        entries.append(audit.Change("team.delete", "team", str(team_id), before, None))
        await audit.record(conn, actor, entries)
    return detail


async def list_members(engine: AsyncEngine, team_id: int) -> list[Member]:
    async with connection(engine) as conn:
        await _team(conn, team_id)
        return await team_store.members(conn, team_id)


def _membership(team_id: int, member: Member) -> dict[str, Any]:
    return {"team_id": team_id, "person": member.person, "added_at": member.added_at}


async def add_member(
    engine: AsyncEngine, actor: Actor, team_id: int, person: str
) -> tuple[Member, bool]:
    """Put a person in a team; whether they were added (``False``: already a member)."""
    person = check_person(person)
    async with transaction(engine) as conn:
        await _team(conn, team_id)
        found = await team_store.get_member(conn, team_id, person)
        if found is not None:
            return found, False
        member = await team_store.add_member(conn, team_id, person, time.time())
        await audit.record(
            conn,
            actor,
            [
                audit.Change(
                    "team.add_member", "team", str(team_id), None, _membership(team_id, member)
                )
            ],
        )
    return member, True


async def remove_member(engine: AsyncEngine, actor: Actor, team_id: int, person: str) -> Member:
    person = check_person(person)
    async with transaction(engine) as conn:
        team = await _team(conn, team_id)
        found = await team_store.get_member(conn, team_id, person)
        if found is None:
            raise NotFoundError(
                f"{shown(person, 80)!r} is not a member of team {team.name!r}",
                param="person",
                code="member_not_found",
            )
        await team_store.remove_member(conn, team_id, person)
        await audit.record(
            conn,
            actor,
            [
                audit.Change(
                    "team.remove_member", "team", str(team_id), _membership(team_id, found), None
                )
            ],
        )
    return found
