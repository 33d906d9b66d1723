"""Spend reports: the daily aggregates summed by period and dimension.

Reports read ``usage_team_daily`` when they group and filter by team alone (the
organisation-wide summary: one row per day and team) and ``usage_daily``
otherwise, never the ledger; :func:`spend_from_ledger` computes the same report
from the raw rows, to check the aggregates against (tests, ``bench/``).

Periods are local days (the ledger's ``day``), ISO weeks from Monday, labelled
``2026-W49`` (ISO year and week, as budgets name them), months (``2026-11``), or
the whole range (``total``). Days and months are bucketed by the day's text; a
week by its Monday, computed by each database (SQLite's ``date()`` modifiers,
PostgreSQL's date arithmetic), then labelled here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Integer, Table, case, cast, extract, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from quantized.store.tables import USAGE_SUMS, teams, usage, usage_daily, usage_team_daily

DIMENSIONS = ("team", "person", "key", "model", "upstream", "price")
"""What reports group by; ``key`` is the caller (an API key or a token subject); ``price``
the price history's row each request was charged at."""
PERIODS = ("day", "week", "month", "total")
SUMS = USAGE_SUMS
_COLUMNS = {
    "team": ("team_id",),
    "person": ("person",),
    "key": ("caller_kind", "caller_id"),
    "model": ("model",),
    "upstream": ("upstream",),
    "price": ("price_id",),
}
_NONE = {"team_id": 0, "person": "", "upstream": "", "price_id": 0}
"""How the aggregates write "none" (their keys cannot be NULL); reports answer ``None``."""
_DAY = 86_400
_NUMBERS = ("team_id", "price_id")
"""Grouped columns that are numbers (sorted as they are; text is sorted byte by byte)."""
_ZERO: ColumnElement[Any] = literal_column("0")
_EMPTY: ColumnElement[Any] = literal_column("''")


@dataclass(frozen=True, slots=True)
class _Source:
    """Key columns and sums of one table, as expressions."""

    columns: Mapping[str, ColumnElement[Any]]
    sums: Mapping[str, ColumnElement[Any]]
    at: ColumnElement[Any] | None = None
    """The ledger's time of each row, to bound a scan of it by its index."""


def _aggregate(table: Table) -> _Source:
    return _Source(
        {c.name: c for c in table.c if c.name not in SUMS},
        {name: func.sum(table.c[name]) for name in SUMS},
    )


def _ledger() -> _Source:
    c = usage.c
    return _Source(
        {
            "day": c.day,
            "caller_kind": c.caller_kind,
            "caller_id": c.caller_id,
            "team_id": func.coalesce(c.team_id, _ZERO),
            "person": func.coalesce(c.person, _EMPTY),
            "model": c.model,
            "upstream": func.coalesce(c.upstream, _EMPTY),
            "price_id": func.coalesce(c.price_id, _ZERO),
        },
        {
            "requests": func.count(),
            "errors": func.sum(case((c.status >= 400, literal_column("1")), else_=_ZERO)),
            **{name: func.sum(c[name]) for name in SUMS[2:]},
        },
        c.at,
    )


def _bucket(day: ColumnElement[Any], period: str, dialect: str) -> ColumnElement[Any]:
    """The period a day is in; constants are written into the SQL, so that PostgreSQL
    sees the same expression in the select list and in ``GROUP BY``."""
    if period == "month":
        return func.substr(day, literal_column("1"), literal_column("7"))
    if period == "week":  # the Monday starting the day's ISO week
        if dialect == "sqlite":
            return func.date(day, literal_column("'weekday 0'"), literal_column("'-6 days'"))
        date = cast(day, Date)
        monday = date - cast(extract("isodow", date), Integer) + literal_column("1")
        return func.to_char(monday, literal_column("'YYYY-MM-DD'"))
    return day


def week_label(monday: str) -> str:
    """``2026-W49`` for the Monday ``2026-11-30``."""
    year, week, _ = dt.date.fromisoformat(monday).isocalendar()
    return f"{year}-W{week:02d}"


async def spend(
    conn: AsyncConnection,
    *,
    start_day: str,
    end_day: str,
    group_by: Sequence[str] = (),
    period: str = "total",
    team_id: int | None = None,
    person: str | None = None,
    caller: tuple[str, str] | None = None,
    model: str | None = None,
    upstream: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Sums per period and group between two days (inclusive), from the aggregates.

    Each row has ``period`` (``None`` for ``total``), the grouped dimensions
    (``team_id``, ``person``, ``caller_kind`` and ``caller_id``, ``model``,
    ``upstream``; ``None`` where a request had none) and the sums of :data:`SUMS`.
    ``team_id=0`` selects requests without a team. Rows come by period, then group;
    at most ``limit`` of them (``None``: every one).
    """
    teams_only = set(group_by) <= {"team"} and (person, caller, model, upstream) == (None,) * 4
    return await _spend(
        conn,
        _aggregate(usage_team_daily if teams_only else usage_daily),
        _Query(
            start_day, end_day, tuple(group_by), period, team_id, person, caller, model, upstream
        ),
        limit,
    )


async def spend_from_ledger(
    conn: AsyncConnection,
    *,
    start_day: str,
    end_day: str,
    group_by: Sequence[str] = (),
    period: str = "total",
    team_id: int | None = None,
    person: str | None = None,
    caller: tuple[str, str] | None = None,
    model: str | None = None,
    upstream: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """:func:`spend` computed from the raw ledger rows (slow: to check the aggregates)."""
    return await _spend(
        conn,
        _ledger(),
        _Query(
            start_day, end_day, tuple(group_by), period, team_id, person, caller, model, upstream
        ),
        limit,
    )


@dataclass(frozen=True, slots=True)
class _Query:
    start_day: str
    end_day: str
    group_by: tuple[str, ...]
    period: str
    team_id: int | None
    person: str | None
    caller: tuple[str, str] | None
    model: str | None
    upstream: str | None


async def _spend(
    conn: AsyncConnection, source: _Source, given: _Query, limit: int | None
) -> list[dict[str, Any]]:
    if given.period not in PERIODS:
        raise ValueError(f"unknown period {given.period!r}")
    names = [column for dimension in given.group_by for column in _COLUMNS[dimension]]
    col = source.columns
    keys = [col[name].label(name) for name in names]
    if given.period != "total":
        keys.insert(0, _bucket(col["day"], given.period, conn.dialect.name).label("period"))
    order: list[ColumnElement[Any]] = list(keys)
    if conn.dialect.name == "postgresql":  # byte order: sorting text by locale costs most
        order = [
            key.element.collate("C") if key.name not in _NUMBERS else key.element for key in keys
        ]
    query = (
        select(*keys, *(expression.label(name) for name, expression in source.sums.items()))
        .where(col["day"] >= given.start_day, col["day"] <= given.end_day)
        .group_by(*keys)
        .order_by(*order)
        .limit(limit)
    )
    if source.at is not None:  # local days lie within a day of UTC's
        first_day = dt.datetime.fromisoformat(given.start_day).replace(tzinfo=dt.UTC)
        last_day = dt.datetime.fromisoformat(given.end_day).replace(tzinfo=dt.UTC)
        query = query.where(
            source.at >= first_day.timestamp() - 2 * _DAY,
            source.at < last_day.timestamp() + 3 * _DAY,
        )
    filters = {
        "team_id": given.team_id,
        "person": given.person,
        "model": given.model,
        "upstream": given.upstream,
    }
    if given.caller is not None:
        filters |= {"caller_kind": given.caller[0], "caller_id": given.caller[1]}
    for name, value in filters.items():
        if value is not None:
            query = query.where(col[name] == value)
    rows = []
    dated = given.period != "total"
    first = 1 if dated else 0  # the grouped columns, then the sums
    nones = [_NONE.get(name) for name in names]
    count = len(names)
    for row in (await conn.execute(query)).all():
        if not row[first + count]:
            continue  # no rows at all: no groups, one row of NULL sums
        found: dict[str, Any] = {"period": _label(row[0], given.period) if dated else None}
        for i, name in enumerate(names):
            value = row[first + i]
            found[name] = None if value == nones[i] else value
        for i, name in enumerate(SUMS, start=first + count):
            found[name] = int(row[i] or 0)
        rows.append(found)
    return rows


def _label(period: Any, kind: str) -> str:
    return week_label(period) if kind == "week" else str(period)


async def team_names(conn: AsyncConnection) -> dict[int, str]:
    """Every team's name, by id."""
    return {row.id: row.name for row in await conn.execute(select(teams.c.id, teams.c.name))}


async def team_named(conn: AsyncConnection, name: str) -> int | None:
    """The id of the team called ``name``, if there is one."""
    result = await conn.execute(select(teams.c.id).where(teams.c.name == name))
    return result.scalar_one_or_none()
