"""The audit log in the database."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store.tables import audit_log


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: an API key, a JWT subject, or the CLI (an operator's shell)."""

    kind: str
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: Actor
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One entity's change, for :func:`record`."""

    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any


async def record(conn: AsyncConnection, actor: Actor, changes: Sequence[Change]) -> None:
    if not changes:
        return
    now = time.time()
    await conn.execute(
        insert(audit_log),
        [
            {
                "at": now,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": c.action,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ],
    )


async def entries(
    conn: AsyncConnection,
    *,
    limit: int,
    before_id: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    actor_id: str | None = None,
    period: tuple[float | None, float | None] = (None, None),
) -> list[AuditEntry]:
    """Newest first; ``period``: [from, to) in unix seconds, either end open."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_id is not None:
        query = query.where(audit_log.c.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    start, end = period
    if start is not None:
        query = query.where(audit_log.c.at >= start)
    if end is not None:
        query = query.where(audit_log.c.at < end)
    result = await conn.execute(query)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=Actor(row.actor_kind, row.actor_id, row.actor_name),
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            before=row.before,
            after=row.after,
        )
        for row in result
    ]
