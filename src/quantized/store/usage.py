"""The usage ledger in the database."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store.tables import budgets, usage
from quantized.usage.ledger import UsageRecord

_COLUMNS = ", ".join(f.name for f in fields(UsageRecord))
_ROW = operator.attrgetter(*(f.name for f in fields(UsageRecord)))
# PostgreSQL: the whole batch is one JSON parameter (orjson writes the dataclasses natively)
# and one statement. Against executemany, unnest() of column arrays and COPY through a
# temporary table it costs the gateway the least CPU per row (bench/ledger_insert.py).
_POSTGRES_INSERT = (
    f"INSERT INTO usage ({_COLUMNS}) SELECT {_COLUMNS} "  # noqa: S608 - constants
    "FROM json_populate_recordset(NULL::usage, convert_from($1::bytea, 'UTF8')::json) "
    "ON CONFLICT (request_id) DO NOTHING"
)
# SQLite: one executemany of plain tuples, in one transaction.
_SQLITE_INSERT = (
    f"INSERT INTO usage ({_COLUMNS}) "  # noqa: S608 - constants
    f"VALUES ({', '.join(['?'] * len(fields(UsageRecord)))}) "
    "ON CONFLICT (request_id) DO NOTHING"
)


async def insert_records(conn: AsyncConnection, records: Sequence[UsageRecord]) -> None:
    """Write records; ones already written (same request id, after a retry) are skipped.

    One statement per batch on PostgreSQL, one ``executemany`` on SQLite. The ledger
    writes the same way through :mod:`quantized.store.usage_writer`, on connections of
    its own, with :func:`insert_asyncpg` and :func:`insert_sqlite3`.
    """
    if not records:
        return
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_POSTGRES_INSERT, (orjson.dumps(list(records)),))
    else:
        await conn.exec_driver_sql(_SQLITE_INSERT, list(map(_ROW, records)))


async def insert_asyncpg(connection: Any, records: Sequence[UsageRecord]) -> None:
    """:func:`insert_records` on an asyncpg connection: one statement, committed by itself."""
    if records:
        await connection.execute(_POSTGRES_INSERT, orjson.dumps(list(records)))


def insert_sqlite3(connection: sqlite3.Connection, records: Sequence[UsageRecord]) -> None:
    """:func:`insert_records` on a sqlite3 connection, in one transaction, committed."""
    if records:
        with connection:  # commits, or rolls back if the insert fails
            connection.executemany(_SQLITE_INSERT, map(_ROW, records))


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
            func.sum(usage.c.cache_write_tokens).label("cache_write_tokens"),
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
            "cache_write_tokens": int(row.cache_write_tokens or 0),
            "completion_tokens": int(row.completion_tokens or 0),
            "cost_pusd": int(row.cost_pusd or 0),
        }
        for row in result
    ]


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(usage))).scalar_one())
