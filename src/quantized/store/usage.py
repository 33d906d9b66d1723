"""The usage ledger in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store.tables import budgets, usage
from quantized.usage.ledger import UsageRecord

_COLUMNS = [f.name for f in fields(UsageRecord)]


async def insert_records(conn: AsyncConnection, records: Sequence[UsageRecord]) -> None:
    """Write records; ones already written (same request id, after a retry) are skipped.

    The ledger's hot write path: one driver-level ``executemany`` of plain tuples.
    """
    if not records:
        return
    postgres = conn.dialect.name == "postgresql"
    marks = ", ".join(f"${i + 1}" if postgres else "?" for i in range(len(_COLUMNS)))
    sql = (
        f"INSERT INTO usage ({', '.join(_COLUMNS)}) VALUES ({marks}) "  # noqa: S608 - constants
        "ON CONFLICT (request_id) DO NOTHING"
    )
    rows = [tuple(getattr(r, name) for name in _COLUMNS) for r in records]
    await conn.exec_driver_sql(sql, rows)


async def budgeted_spend_since(
    conn: AsyncConnection, since: float
) -> list[tuple[str, str, str, int]]:
    """(caller kind, caller id, day, picodollars) since ``since``, for callers with a budget."""
    joined = usage.join(
        budgets,
        (budgets.c.subject_kind == usage.c.caller_kind)
        & (budgets.c.subject_id == usage.c.caller_id),
    )
    result = await conn.execute(
        select(usage.c.caller_kind, usage.c.caller_id, usage.c.day, func.sum(usage.c.cost_pusd))
        .select_from(joined)
        .where(usage.c.at >= since)
        .group_by(usage.c.caller_kind, usage.c.caller_id, usage.c.day)
    )
    return [(row[0], row[1], row[2], int(row[3] or 0)) for row in result]


async def summary(
    conn: AsyncConnection,
    *,
    start_day: str,
    end_day: str,
    caller: tuple[str, str] | None = None,
    model: str | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Requests, tokens and cost per day, caller and model, between two days (inclusive)."""
    query = (
        select(
            usage.c.day,
            usage.c.caller_kind,
            usage.c.caller_id,
            usage.c.model,
            func.count().label("requests"),
            func.sum(usage.c.prompt_tokens).label("prompt_tokens"),
            func.sum(usage.c.cached_tokens).label("cached_tokens"),
            func.sum(usage.c.completion_tokens).label("completion_tokens"),
            func.sum(usage.c.cost_pusd).label("cost_pusd"),
        )
        .where(usage.c.day >= start_day, usage.c.day <= end_day)
        .group_by(usage.c.day, usage.c.caller_kind, usage.c.caller_id, usage.c.model)
        .order_by(usage.c.day, usage.c.caller_kind, usage.c.caller_id, usage.c.model)
        .limit(limit)
    )
    if caller is not None:
        query = query.where(usage.c.caller_kind == caller[0], usage.c.caller_id == caller[1])
    if model is not None:
        query = query.where(usage.c.model == model)
    result = await conn.execute(query)
    return [
        {
            "day": row.day,
            "caller_kind": row.caller_kind,
            "caller_id": row.caller_id,
            "model": row.model,
            "requests": int(row.requests),
            "prompt_tokens": int(row.prompt_tokens or 0),
            "cached_tokens": int(row.cached_tokens or 0),
            "completion_tokens": int(row.completion_tokens or 0),
            "cost_pusd": int(row.cost_pusd or 0),
        }
        for row in result
    ]


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(usage))).scalar_one())
