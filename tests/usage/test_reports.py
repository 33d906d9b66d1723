"""Spend reports on real SQLite files and PostgreSQL databases: from the aggregates, they
equal the raw ledger's sums and sums computed here from the records, exactly."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest

from quantized.errors import InvalidRequestError, NotFoundError
from quantized.services import reports
from quantized.services.reports import Filters
from quantized.store import migrate
from quantized.store import reports as report_store
from quantized.store import usage as usage_store
from quantized.store.database import create_engine
from quantized.store.reports import SUMS, week_label
from quantized.store.tables import teams
from quantized.store.usage_writer import usage_writer
from quantized.usage.ledger import UsageRecord
from tests.utils.records import usage_record

FIRST = dt.date(2026, 11, 20)
DAYS = [(FIRST + dt.timedelta(days=n)).isoformat() for n in range(48)]  # to 2027-01-06
"""Across two month ends, a year end, and ISO week 2026-W53 (which ends in 2027)."""
TEAMS = {1: "ml", 2: "=platform", 3: "research é"}
PEOPLE = [None, "alice@example.com", "bob", "+carol", "dan ✓"]
CALLERS = [("key", "1"), ("key", "2"), ("key", "17"), ("jwt", "alice@example.com"), ("jwt", "s|9")]
MODELS = ["openai/gpt-4.1", "anthropic/claude-sonnet-4", "m"]
UPSTREAMS = [None, "https://api.openai.com/v1", "https://api.anthropic.com"]
GROUPINGS: list[tuple[str, ...]] = [
    (),
    ("team",),
    ("person",),
    ("key",),
    ("model",),
    ("upstream",),
    ("team", "model"),
    ("model", "team"),
    ("key", "model", "upstream"),
    ("team", "person", "key", "model", "upstream"),
]
FILTERS: list[dict[str, Any]] = [
    {},
    {"team_id": 1},
    {"team_id": 0},
    {"person": "alice@example.com"},
    {"caller": ("key", "2")},
    {"caller": ("jwt", "s|9")},
    {"model": "m"},
    {"upstream": "https://api.anthropic.com"},
    {"team_id": 3, "model": "openai/gpt-4.1", "person": "bob"},
]
RANGES = [(DAYS[0], DAYS[-1]), ("2026-11-28", "2026-12-03"), ("2026-12-28", "2027-01-04")]


def varied_records(count: int, seed: int = 7) -> list[UsageRecord]:
    rng = random.Random(seed)
    found = []
    for n in range(count):
        day = rng.choice(DAYS)
        prompt = rng.randrange(0, 200_000)
        cached = rng.randrange(0, prompt + 1)
        found.append(
            usage_record(
                request_id=f"req-{seed}-{n}",
                at=dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() + n % 86400,
                day=day,
                caller_kind=(caller := rng.choice(CALLERS))[0],
                caller_id=caller[1],
                team_id=rng.choice([None, 1, 2, 3]),
                person=rng.choice(PEOPLE),
                model=rng.choice(MODELS),
                upstream=rng.choice(UPSTREAMS),
                status=rng.choice([200, 200, 200, 400, 429, 502]),
                prompt_tokens=prompt,
                cached_tokens=cached,
                cache_write_tokens=rng.randrange(0, prompt - cached + 1),
                completion_tokens=rng.randrange(0, 50_000),
                cost_pusd=rng.randrange(0, 10**13),  # up to 10 USD each, to the picodollar
            )
        )
    return found


def bucket(day: str, period: str) -> str | None:
    if period == "total":
        return None
    if period == "month":
        return day[:7]
    if period == "week":
        date = dt.date.fromisoformat(day)
        return week_label((date - dt.timedelta(days=date.weekday())).isoformat())
    return day


def sums_in_python(
    records: Sequence[UsageRecord],
    *,
    start_day: str,
    end_day: str,
    group_by: Sequence[str],
    period: str,
    **filters: Any,
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The report, computed from the records themselves (each request id counted once)."""
    kept = {r.request_id: r for r in reversed(records)}.values()
    found: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(SUMS))
    for r in kept:
        values = {
            "team_id": r.team_id or 0,
            "person": r.person,
            "caller": (r.caller_kind, r.caller_id),
            "model": r.model,
            "upstream": r.upstream,
        }
        if not start_day <= r.day <= end_day:
            continue
        if any(values[name] != value for name, value in filters.items()):
            continue
        key = (bucket(r.day, period),) + tuple(
            {
                "team": r.team_id,
                "person": r.person,
                "key": (r.caller_kind, r.caller_id),
                "model": r.model,
                "upstream": r.upstream,
            }[name]
            for name in group_by
        )
        sums = found[key]
        for i, value in enumerate(
            (
                1,
                int(r.status >= 400),
                r.prompt_tokens,
                r.cached_tokens,
                r.cache_write_tokens,
                r.completion_tokens,
                r.cost_pusd,
            )
        ):
            sums[i] += value
    return {key: tuple(sums) for key, sums in found.items()}


def keyed(
    rows: list[dict[str, Any]], group_by: Sequence[str]
) -> dict[tuple[Any, ...], tuple[int, ...]]:
    found = {}
    for row in rows:
        key = (row["period"],) + tuple(
            (row["caller_kind"], row["caller_id"])
            if name == "key"
            else row[{"team": "team_id"}.get(name, name)]
            for name in group_by
        )
        assert key not in found, key
        found[key] = tuple(row[name] for name in SUMS)
    return found


async def write(url: str, batches: Sequence[Sequence[UsageRecord]]) -> None:
    """Half the batches through the ledger's writer, half with ``insert_records``."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                teams.insert(),
                [
                    {"id": i, "name": name, "models": None, "created_at": 0.0, "updated_at": 0.0}
                    for i, name in TEAMS.items()
                ],
            )
        writer = usage_writer(engine)
        try:
            for n, batch in enumerate(batches):
                if n % 2:
                    await writer(batch)
                else:
                    async with engine.begin() as conn:
                        await usage_store.insert_records(conn, batch)
        finally:
            await writer.close()
    finally:
        await engine.dispose()


def batches_of(records: list[UsageRecord]) -> list[list[UsageRecord]]:
    """In 12 batches, written alternately with ``insert_records`` and the ledger's writer;
    a batch written one way is sent again (a retry, with new records) the other."""
    size = len(records) // 12
    found = [records[i : i + size] for i in range(0, len(records), size)]
    return [*found[:3], found[2] + found[3], found[1][:100] + found[4], *found[5:]]


@pytest.fixture
def written(database_url: str) -> tuple[str, list[UsageRecord]]:
    records = varied_records(3000)
    asyncio.run(write(database_url, batches_of(records)))
    return database_url, records


def test_reports_equal_the_ledger_and_the_records_exactly(
    written: tuple[str, list[UsageRecord]],
) -> None:
    url, records = written
    compared = nonempty = 0

    async def main() -> None:
        nonlocal compared, nonempty
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                cases = [
                    *itertools.product(
                        GROUPINGS, ("day", "week", "month", "total"), FILTERS[:1], RANGES
                    ),
                    *itertools.product(GROUPINGS[:7:2], ("week", "total"), FILTERS[1:], RANGES[:2]),
                ]
                for group_by, period, filters, (start, end) in cases:
                    query = {
                        "start_day": start,
                        "end_day": end,
                        "group_by": group_by,
                        "period": period,
                        **filters,
                    }
                    reported = await report_store.spend(conn, **query)
                    from_ledger = await report_store.spend_from_ledger(conn, **query)
                    assert reported == from_ledger, query
                    python_filters = {
                        ("caller" if k == "caller" else k): v for k, v in filters.items()
                    }
                    expected = sums_in_python(
                        records,
                        start_day=start,
                        end_day=end,
                        group_by=group_by,
                        period=period,
                        **python_filters,
                    )
                    assert keyed(reported, group_by) == expected, query
                    compared += 1
                    nonempty += bool(expected)
        finally:
            await engine.dispose()

    asyncio.run(main())
    assert compared == 10 * 4 * 3 + 4 * 2 * 8 * 2
    assert nonempty == compared


def test_the_retried_batch_is_counted_once_and_weeks_follow_iso(
    written: tuple[str, list[UsageRecord]],
) -> None:
    url, records = written

    async def main() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await report_store.spend(
                    conn, start_day=DAYS[0], end_day=DAYS[-1], period="week"
                )
        finally:
            await engine.dispose()

    weeks = asyncio.run(main())
    assert sum(w["requests"] for w in weeks) == len(records) == 3000
    assert sum(w["cost_pusd"] for w in weeks) == sum(r.cost_pusd for r in records)
    labels = [w["period"] for w in weeks]
    assert labels[0] == "2026-W47" and "2026-W53" in labels and labels[-1] == "2027-W01"
    assert len(labels) == len(set(labels)) == 8


def test_the_team_summary_reads_the_team_aggregates(
    written: tuple[str, list[UsageRecord]],
) -> None:
    """With ``usage_daily`` emptied, a report by team alone is unchanged; others are empty."""
    url, _ = written

    async def main() -> None:
        engine = create_engine(url)
        try:
            query = {"start_day": DAYS[0], "end_day": DAYS[-1], "period": "month"}
            async with engine.connect() as conn:
                by_team = await report_store.spend(conn, group_by=("team",), **query)
                one_team = await report_store.spend(conn, team_id=2, **query)
            async with engine.begin() as conn:
                await conn.exec_driver_sql("DELETE FROM usage_daily")
            async with engine.connect() as conn:
                assert await report_store.spend(conn, group_by=("team",), **query) == by_team
                assert await report_store.spend(conn, team_id=2, **query) == one_team
                assert await report_store.spend(conn, group_by=("model",), **query) == []
                assert len(by_team) == 3 * 4 and len(one_team) == 3
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_the_service_names_teams_totals_exactly_and_writes_csv(
    written: tuple[str, list[UsageRecord]],
) -> None:
    url, records = written

    async def main() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        engine = create_engine(url)
        try:
            whole = await reports.spend_report(
                engine, start=DAYS[0], end=DAYS[-1], group_by="team,key", period="month"
            )
            cut = await reports.spend_report(
                engine, start=DAYS[0], end=DAYS[-1], group_by="team,key", period="month", limit=7
            )
            named = await reports.spend_report(
                engine,
                start=DAYS[0],
                end=DAYS[-1],
                group_by=["model"],
                filters=Filters(team="=platform", caller=("jwt", "alice@example.com")),
                timezone="Europe/Paris",
            )
            return whole, cut, named
        finally:
            await engine.dispose()

    whole, cut, named = asyncio.run(main())
    total = sum(r.cost_pusd for r in records)
    assert whole["total"]["requests"] == 3000 and not whole["has_more"]
    assert whole["total"]["cost_usd_exact"] == reports.exact_usd(total)
    assert sum(int(round(float(r["cost_usd_exact"]) * 10**12)) for r in whole["data"]) == total
    assert cut["has_more"] and len(cut["data"]) == 7 and cut["total"] == whole["total"]
    assert cut["data"] == whole["data"][:7]
    assert {r["team"]["name"] for r in whole["data"] if r["team"]} == set(TEAMS.values())
    assert whole["data"][0]["period"] == "2026-11" and "caller" in whole["data"][0]
    assert named["timezone"] == "Europe/Paris" and named["group_by"] == ["model"]
    expected = sums_in_python(
        records,
        start_day=DAYS[0],
        end_day=DAYS[-1],
        group_by=("model",),
        period="total",
        team_id=2,
        caller=("jwt", "alice@example.com"),
    )
    assert {(None, r["model"]): r["requests"] for r in named["data"]} == {
        k: v[0] for k, v in expected.items()
    }

    parsed = list(csv.DictReader(io.StringIO(reports.to_csv(whole))))
    assert list(parsed[0]) == [
        "period",
        "team_id",
        "team",
        "caller",
        *reports.TOKENS,
        "cost_usd",
    ]
    assert len(parsed) == len(whole["data"])
    for line, row in zip(parsed, whole["data"], strict=True):
        assert line["cost_usd"] == row["cost_usd_exact"]
        assert line["requests"] == str(row["requests"])
        assert line["caller"] == f"{row['caller']['kind']}:{row['caller']['id']}"
        if row["team"] is None:
            assert line["team_id"] == line["team"] == ""
        elif row["team"]["name"] == "=platform":
            assert line["team"] == "'=platform"  # not a formula in a spreadsheet


def test_exact_usd() -> None:
    assert reports.exact_usd(0) == "0"
    assert reports.exact_usd(1) == "0.000000000001"
    assert reports.exact_usd(1_250 * 10**12) == "1250"
    assert reports.exact_usd(9_223_372_036_854_775_807) == "9223372.036854775807"


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"group_by": "team,colour"}, "group_by"),
        ({"period": "year"}, "period"),
        ({"start": "2026-02-30"}, "start"),
        ({"end": "tomorrow"}, "end"),
        ({"filters": Filters(model="a\x00b")}, "model"),
        ({"filters": Filters(upstream="u" * 301)}, "upstream"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_parameters_name_themselves(
    sqlite_url: str, arguments: dict[str, Any], param: str
) -> None:
    async def main() -> None:
        engine = create_engine(sqlite_url)
        try:
            await migrate.upgrade(engine)
            query = {"start": "2026-11-01", "end": "2026-11-30", **arguments}
            await reports.spend_report(engine, **query)
        finally:
            await engine.dispose()

    with pytest.raises(InvalidRequestError) as caught:
        asyncio.run(main())
    assert caught.value.param == param


def test_an_unknown_team_is_not_found_and_a_reversed_range_is_empty(sqlite_url: str) -> None:
    async def main() -> dict[str, Any]:
        engine = create_engine(sqlite_url)
        try:
            await migrate.upgrade(engine)
            with pytest.raises(NotFoundError):
                await reports.spend_report(
                    engine, start="2026-11-01", end="2026-11-30", filters=Filters(team="nobody")
                )
            return await reports.spend_report(
                engine, start="2026-12-01", end="2026-11-01", filters=Filters(team="12")
            )
        finally:
            await engine.dispose()

    empty = asyncio.run(main())
    assert empty["data"] == [] and empty["total"]["requests"] == 0
    assert empty["total"]["cost_usd_exact"] == "0"
