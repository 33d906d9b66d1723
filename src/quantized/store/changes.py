"""The change log: every write records what it touched, every server replays it.

Writers add rows in the same transaction as their change. Servers poll for rows
newer than the last they applied, re-reading a small window behind it so that a
transaction that committed out of id order is still seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store.tables import changes

T = TypeVar("T")
MODEL = "model"
KEY = "key"
BUDGET = "budget"
TEAM = "team"
_KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    entity: str
    entity_id: str


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices small enough for any backend's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def record(conn: AsyncConnection, entity: str, entity_ids: Iterable[str]) -> None:
    now = time.time()
    rows = [{"entity": entity, "entity_id": i, "at": now} for i in entity_ids]
    if rows:
        for chunk in chunks(rows, 2000):
            await conn.execute(insert(changes), list(chunk))
        await conn.execute(delete(changes).where(changes.c.at < now - _KEEP_SECONDS))


async def since(conn: AsyncConnection, after_id: int) -> list[Change]:
    result = await conn.execute(
        select(changes.c.id, changes.c.entity, changes.c.entity_id)
        .where(changes.c.id > after_id)
        .order_by(changes.c.id)
    )
    return [Change(*row) for row in result]


async def latest_id(conn: AsyncConnection) -> int:
    result = await conn.execute(select(func.coalesce(func.max(changes.c.id), 0)))
    return int(result.scalar_one())
