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

from quantized.store.changes import chunks
from quantized.store.tables import USAGE_SUMS, usage
from quantized.usage.ledger import UsageRecord

_COLUMNS = ", ".join(f.name for f in fields(UsageRecord))
_ROW = operator.attrgetter(*(f.name for f in fields(UsageRecord)))
_SUMS = USAGE_SUMS
_DAILY_KEY = (
    "team_id",
    "day",
    "caller_kind",
    "caller_id",
    "person",
    "model",
    "upstream",
    "price_id",
)
"""The key of ``usage_daily``, in its primary key's order."""
_TEAM_KEY = ("day", "team_id")
MAX_SUM = 2**63 - 1
"""Sums stop there (a 64-bit column) rather than fail: 9.2 million USD a day per row."""
_ADD = ", ".join(
    f"{name} = CASE WHEN {{table}}.{name} > {MAX_SUM} - excluded.{name} THEN {MAX_SUM} "
    f"ELSE {{table}}.{name} + excluded.{name} END"
    for name in _SUMS
)
_SUMMED = "count(*), count(*) FILTER (WHERE status >= 400), " + ", ".join(
    f"LEAST(sum({name}), {MAX_SUM})"
    for name in (
        "prompt_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "completion_tokens",
        "cost_pusd",
    )
)
# PostgreSQL: the whole batch is one JSON parameter (orjson writes the dataclasses natively)
# and one statement, which inserts the rows not written yet and adds exactly those to the
# daily aggregates (bench/ledger_insert.py compares the ways of writing a batch). The
# aggregates are updated in a fixed order, so two batches in flight lock rows alike.
_POSTGRES_INSERT = (
    "WITH batch AS (SELECT * FROM json_populate_recordset("  # noqa: S608 - constants
    "NULL::usage, convert_from($1::bytea, 'UTF8')::json)), "
    f"new AS (INSERT INTO usage ({_COLUMNS}) SELECT {_COLUMNS} FROM batch "
    "ON CONFLICT (request_id) DO NOTHING RETURNING *), "
    "keyed AS (SELECT coalesce(team_id, 0) AS team_id, day, caller_kind, caller_id, "
    "coalesce(person, '') AS person, model, coalesce(upstream, '') AS upstream, "
    "coalesce(price_id, 0) AS price_id, status, "
    "prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, cost_pusd FROM new), "
    f"daily AS (INSERT INTO usage_daily ({', '.join(_DAILY_KEY + _SUMS)}) "
    f"SELECT {', '.join(_DAILY_KEY)}, {_SUMMED} FROM keyed "
    f"GROUP BY {', '.join(_DAILY_KEY)} ORDER BY {', '.join(_DAILY_KEY)} "
    f"ON CONFLICT ({', '.join(_DAILY_KEY)}) DO UPDATE SET {_ADD.format(table='usage_daily')}) "
    f"INSERT INTO usage_team_daily ({', '.join(_TEAM_KEY + _SUMS)}) "
    f"SELECT day, team_id, {_SUMMED} FROM keyed GROUP BY day, team_id ORDER BY day, team_id "
    f"ON CONFLICT (day, team_id) DO UPDATE SET {_ADD.format(table='usage_team_daily')}"
)
# SQLite: in one transaction, the rows not written yet, then their sums (one executemany each).
_SQLITE_INSERT = (
    f"INSERT INTO usage ({_COLUMNS}) "  # noqa: S608 - constants
    f"VALUES ({', '.join(['?'] * len(fields(UsageRecord)))}) "
    "ON CONFLICT (request_id) DO NOTHING"
)
_SQLITE_DAILY = (
    f"INSERT INTO usage_daily ({', '.join(_DAILY_KEY + _SUMS)}) "  # noqa: S608 - constants
    f"VALUES ({', '.join(['?'] * (len(_DAILY_KEY) + len(_SUMS)))}) "
    f"ON CONFLICT ({', '.join(_DAILY_KEY)}) DO UPDATE SET {_ADD.format(table='usage_daily')}"
)
_SQLITE_TEAM = (
    f"INSERT INTO usage_team_daily ({', '.join(_TEAM_KEY + _SUMS)}) "  # noqa: S608 - constants
    f"VALUES ({', '.join(['?'] * (len(_TEAM_KEY) + len(_SUMS)))}) "
    f"ON CONFLICT (day, team_id) DO UPDATE SET {_ADD.format(table='usage_team_daily')}"
)


def _sums(records: Sequence[UsageRecord]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The batch's rows for ``usage_daily`` and ``usage_team_daily``."""
    daily: dict[tuple[Any, ...], list[int]] = {}
    teams: dict[tuple[Any, ...], list[int]] = {}
    for r in records:
        values = (
            1,
            1 if r.status >= 400 else 0,
            r.prompt_tokens,
            r.cached_tokens,
            r.cache_write_tokens,
            r.completion_tokens,
            r.cost_pusd,
        )
        team = r.team_id or 0
        for table, key in (
            (
                daily,
                (
                    team,
                    r.day,
                    r.caller_kind,
                    r.caller_id,
                    r.person or "",
                    r.model,
                    r.upstream or "",
                    r.price_id or 0,
                ),
            ),
            (teams, (r.day, team)),
        ):
            sums = table.get(key)
            if sums is None:
                table[key] = list(values)
            else:
                for i, value in enumerate(values):
                    sums[i] = min(sums[i] + value, MAX_SUM)
    return (
        [(*key, *sums) for key, sums in sorted(daily.items())],
        [(*key, *sums) for key, sums in sorted(teams.items())],
    )


async def insert_records(conn: AsyncConnection, records: Sequence[UsageRecord]) -> None:
    """Write records, and add them to the daily aggregates; ones already written (same
    request id, after a retry) are skipped, and not added twice.

    One statement per batch on PostgreSQL, one transaction on SQLite. The ledger writes
    the same way through :mod:`quantized.store.usage_writer`, on connections of its own,
    with :func:`insert_asyncpg` and :func:`insert_sqlite3`.
    """
    if not records:
        return
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_POSTGRES_INSERT, (orjson.dumps(list(records)),))
        return
    fresh = await _unwritten(conn, records)
    if fresh:
        await conn.exec_driver_sql(_SQLITE_INSERT, list(map(_ROW, fresh)))
        daily, teams = _sums(fresh)
        await conn.exec_driver_sql(_SQLITE_DAILY, daily)
        await conn.exec_driver_sql(_SQLITE_TEAM, teams)


async def _unwritten(conn: AsyncConnection, records: Sequence[UsageRecord]) -> list[UsageRecord]:
    ids = [r.request_id for r in records]
    seen: set[str] = set()
    for chunk in chunks(ids):
        result = await conn.execute(select(usage.c.request_id).where(usage.c.request_id.in_(chunk)))
        seen.update(row[0] for row in result)
    return _first_of_each([r for r in records if r.request_id not in seen])


def _first_of_each(records: Sequence[UsageRecord]) -> list[UsageRecord]:
    """One record per request id (the first), as ``ON CONFLICT DO NOTHING`` keeps it."""
    kept: dict[str, UsageRecord] = {}
    for record in records:
        kept.setdefault(record.request_id, record)
    return list(kept.values())


async def insert_asyncpg(connection: Any, records: Sequence[UsageRecord]) -> None:
    """:func:`insert_records` on an asyncpg connection: one statement, committed by itself."""
    if records:
        await connection.execute(_POSTGRES_INSERT, orjson.dumps(list(records)))


def insert_sqlite3(connection: sqlite3.Connection, records: Sequence[UsageRecord]) -> None:
    """:func:`insert_records` on a sqlite3 connection, in one transaction, committed."""
    if not records:
        return
    with connection:  # commits, or rolls back if anything fails
        seen: set[str] = set()
        ids = [r.request_id for r in records]
        for chunk in chunks(ids):
            marks = ", ".join("?" * len(chunk))
            seen.update(
                row[0]
                for row in connection.execute(
                    f"SELECT request_id FROM usage WHERE request_id IN ({marks})",  # noqa: S608
                    chunk,
                )
            )
        fresh = _first_of_each([r for r in records if r.request_id not in seen])
        if not fresh:
            return
        connection.executemany(_SQLITE_INSERT, map(_ROW, fresh))
        daily, teams = _sums(fresh)
        connection.executemany(_SQLITE_DAILY, daily)
        connection.executemany(_SQLITE_TEAM, teams)


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(usage))).scalar_one())
