"""Spend reports (shared by the CLI and the HTTP API): checked, named, exact, JSON or CSV.

A report sums the daily aggregates (:mod:`quantized.store.reports`) between two
local days, by period (``day``, ``week``: ISO weeks from Monday labelled
``2026-W49``, ``month``: ``2026-11``, or ``total``) and by any of ``team``,
``person``, ``key`` (the caller: an API key or a token subject), ``model`` and
``upstream``, filtered by any of them. Figures equal the sums of the ledger's
rows exactly: amounts are integer picodollars until they are shown, as a JSON
number (``cost_usd``, exact below $1,000) and as an exact decimal string
(``cost_usd_exact``, also the CSV's ``cost_usd``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.catalog.model import Cost
from quantized.errors import InvalidRequestError, NotFoundError
from quantized.store import prices as price_store
from quantized.store import reports as report_store
from quantized.store.database import connection
from quantized.store.prices import PriceRow, charged_price
from quantized.usage.cost import from_pico, usd_number
from quantized.values import is_line, parse_id, shown

DIMENSIONS = report_store.DIMENSIONS
PERIODS = report_store.PERIODS
_ONE = "team|person|key|model|upstream|price"
GROUP_BY = f"^(?:(?:{_ONE})(?:,(?:{_ONE}))*)?$"
"""Comma-separated dimensions, possibly none (for documents)."""
MAX_ROWS = 100_000
TOKENS = report_store.SUMS[:-1]
"""The sums but cost, which is shown in USD."""
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def parse_group_by(value: str | Sequence[str]) -> tuple[str, ...]:
    """``team,model`` (or a list) as dimensions, in the order given, each once."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    found = [part.strip() for part in parts if part.strip()]
    for part in found:
        if part not in DIMENSIONS:
            raise InvalidRequestError(
                f"group_by: unknown dimension {shown(part)!r}; use {', '.join(DIMENSIONS)}",
                param="group_by",
            )
    return tuple(dict.fromkeys(found))


def parse_period(value: str) -> str:
    if value not in PERIODS:
        raise InvalidRequestError(
            f"period must be one of {', '.join(PERIODS)}, not {shown(value)!r}", param="period"
        )
    return value


def _check_day(text: str, param: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidRequestError(f"{param} must be a date (YYYY-MM-DD)", param=param) from None


def _check_line(value: str | None, param: str, limit: int = 200) -> None:
    if value is not None and not is_line(value, limit=limit):
        raise InvalidRequestError(
            f"{param} must be at most {limit} characters, without control characters",
            param=param,
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What a report counts: every one given must match."""

    team: str | None = None
    """A team's name (or, when no team has that name, its id)."""
    person: str | None = None
    caller: tuple[str, str] | None = None
    model: str | None = None
    upstream: str | None = None

    def check(self) -> None:
        _check_line(self.team, "team")
        _check_line(self.person, "person")
        _check_line(self.model, "model")
        _check_line(self.upstream, "upstream", limit=300)


async def spend_report(
    engine: AsyncEngine,
    *,
    start: str,
    end: str,
    group_by: str | Sequence[str] = ("team",),
    period: str = "total",
    filters: Filters | None = None,
    limit: int = 10_000,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """Spend from ``start`` to ``end`` (local ISO days, inclusive: empty if start is after
    end), by ``period`` and ``group_by``; at most ``limit`` rows (``has_more`` says whether
    there were more), and the total of every row."""
    start, end = _check_day(start, "start"), _check_day(end, "end")
    groups, period = parse_group_by(group_by), parse_period(period)
    filters = filters or Filters()
    filters.check()
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidRequestError(f"limit must be from 1 to {MAX_ROWS}", param="limit")
    rows: list[dict[str, Any]] = []
    total: dict[str, Any] | None = None
    more = False
    async with connection(engine) as conn:
        team_id = await _team_id(conn, filters.team) if filters.team is not None else None
        query: dict[str, Any] = {
            "start_day": start,
            "end_day": end,
            "team_id": team_id,
            "person": filters.person,
            "caller": filters.caller,
            "model": filters.model,
            "upstream": filters.upstream,
        }
        if start <= end:
            rows = await report_store.spend(
                conn, group_by=groups, period=period, limit=limit + 1, **query
            )
            more = len(rows) > limit
            if more:
                rows = rows[:limit]
                total = (await report_store.spend(conn, **query))[0]
        names = await report_store.team_names(conn) if "team" in groups else {}
        charged: dict[int, PriceRow] = {}
        if "price" in groups:
            charged = await price_store.rows_by_id(
                conn, (r["price_id"] for r in rows if r["price_id"])
            )
    if total is None:
        total = {name: sum(r[name] for r in rows) for name in report_store.SUMS}
    return {
        "object": "spend_report",
        "start": start,
        "end": end,
        "timezone": timezone,
        "period": period,
        "group_by": list(groups),
        "data": [_row(r, groups, period, names, charged) for r in rows],
        "total": _amounts(total),
        "has_more": more,
    }


async def _team_id(conn: Any, team: str) -> int:
    found = await report_store.team_named(conn, team)
    if found is None:
        found = parse_id(team)
    if found is None:
        raise NotFoundError(
            f"no team named {shown(team, 80)!r}", param="team", code="team_not_found"
        )
    return found


def exact_usd(amount: int) -> str:
    """Picodollars as an exact decimal string of USD: ``0.000125``, ``1250``, ``0``."""
    return format(from_pico(amount).normalize(), "f")


def _amounts(sums: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {name: int(sums[name]) for name in TOKENS}
    found["cost_usd"] = usd_number(sums["cost_pusd"])
    found["cost_usd_exact"] = exact_usd(sums["cost_pusd"])
    return found


def _row(
    found: dict[str, Any],
    groups: Sequence[str],
    period: str,
    names: dict[int, str],
    charged: dict[int, PriceRow],
) -> dict[str, Any]:
    row: dict[str, Any] = {} if period == "total" else {"period": found["period"]}
    for dimension in groups:
        if dimension == "team":
            team = found["team_id"]
            row["team"] = None if team is None else {"id": team, "name": names.get(team)}
        elif dimension == "key":
            row["caller"] = {"kind": found["caller_kind"], "id": found["caller_id"]}
        elif dimension == "price":
            row["price"] = charged_price(found["price_id"], charged)
        else:
            row[dimension] = found[dimension]
    row.update(_amounts(found))
    return row


_PRICE_COLUMNS = [f"price_{name}" for name in ("id", *Cost.NAMES)]
_SPLIT = {"team": ["team_id", "team"], "key": ["caller"], "price": _PRICE_COLUMNS}


def csv_columns(report: dict[str, Any]) -> list[str]:
    columns = [] if report["period"] == "total" else ["period"]
    for dimension in report["group_by"]:
        columns += _SPLIT.get(dimension, [dimension])
    return [*columns, *TOKENS, "cost_usd"]


def csv_cells(row: dict[str, Any], *, spreadsheet: bool = True) -> dict[str, str]:
    """A report row as text cells, by CSV column (also what the CLI's table shows); for a
    ``spreadsheet``, text that would be read as a formula starts with a quote."""
    text = _text if spreadsheet else str
    cells: dict[str, str] = {}
    for name, value in row.items():
        if name == "team":
            cells["team_id"] = "" if value is None else str(value["id"])
            cells["team"] = "" if value is None else text(value["name"] or "")
        elif name == "caller":
            cells["caller"] = text(f"{value['kind']}:{value['id']}")
        elif name == "price":
            found = value or {}
            cells.update(
                (column, "" if found.get(key) is None else str(found[key]))
                for column, key in zip(_PRICE_COLUMNS, ("id", *Cost.NAMES), strict=True)
            )
        elif name == "cost_usd_exact":
            cells["cost_usd"] = value
        elif name != "cost_usd":
            cells[name] = (
                "" if value is None else text(value) if isinstance(value, str) else str(value)
            )
    return cells


def _text(value: str) -> str:
    """Text a spreadsheet would read as a formula starts with a quote (OWASP's advice)."""
    return "'" + value if value.startswith(_FORMULA) else value


def to_csv(report: dict[str, Any]) -> str:
    """The report's rows as CSV (RFC 4180, a header row, no total row)."""
    buffer = io.StringIO()
    columns = csv_columns(report)
    writer = csv.DictWriter(buffer, columns, extrasaction="raise")
    writer.writeheader()
    for row in report["data"]:
        writer.writerow(csv_cells(row))
    return buffer.getvalue()


def csv_filename(report: dict[str, Any]) -> str:
    return f"spend-{report['start']}-{report['end']}-{report['period']}.csv"
