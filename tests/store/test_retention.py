"""Usage retention on real SQLite files and PostgreSQL databases: expired raw rows go,
in small batches; the aggregates, and so every report, stay as they were."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import event

from quantized.store import migrate
from quantized.store import reports as report_store
from quantized.store import usage as usage_store
from quantized.store.database import create_engine
from quantized.store.retention import delete_expired_usage
from quantized.usage.retention import DAY, Retention
from tests.utils.databases import query
from tests.utils.records import usage_record

NOW = 1_764_547_200.0  # 2025-12-01T00:00:00Z
REPORT = {"start_day": "2025-01-01", "end_day": "2026-12-31", "period": "day"}


def records() -> list[Any]:
    """250 rows a day apart over 250 days before NOW, for three callers and two teams."""
    return [
        usage_record(
            request_id=f"r{n}",
            at=NOW - (n + 0.5) * DAY,
            day=f"2025-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}",
            caller_id=f"k{n % 3}",
            team_id=(n % 2) or None,
            status=500 if n % 7 == 0 else 200,
            cost_pusd=n * 1_000_003,
        )
        for n in range(250)
    ]


def aggregates(url: str) -> list[dict[str, object]]:
    return [
        *query(url, "SELECT * FROM usage_daily ORDER BY day, caller_id, team_id, model"),
        *query(url, "SELECT * FROM usage_team_daily ORDER BY day, team_id"),
    ]


async def reports(engine: Any) -> tuple[list[dict[str, Any]], ...]:
    async with engine.connect() as conn:
        return (
            await report_store.spend(conn, group_by=("key", "team"), **REPORT),
            await report_store.spend(conn, group_by=("team",), **REPORT),
            await report_store.spend_from_ledger(conn, group_by=("key", "team"), **REPORT),
        )


@pytest.mark.parametrize("through", ["engine", "connection"])
def test_only_expired_rows_go_in_batches_and_reports_keep_their_figures(
    database_url: str, through: str
) -> None:
    deletes: list[str] = []

    async def main() -> None:
        engine = create_engine(database_url)
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as conn:
                await usage_store.insert_records(conn, records())
            before = await reports(engine)
            assert before[0] == before[2]  # aggregates and ledger agree

            @event.listens_for(engine.sync_engine, "before_cursor_execute")
            def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
                if statement.lstrip().upper().startswith("DELETE"):
                    deletes.append(statement)

            cutoff = NOW - 100 * DAY  # rows 100 to 249 are older: 150 rows
            if through == "engine":
                deleted = await delete_expired_usage(engine, cutoff, 40)
            else:
                async with engine.connect() as conn:
                    deleted = await delete_expired_usage(conn, cutoff, 40)
            assert deleted == 150
            assert await delete_expired_usage(engine, cutoff, 40) == 0
            after = await reports(engine)
            assert after[:2] == before[:2]  # reports read the aggregates: unchanged
            assert sum(r["requests"] for r in after[2]) == 100  # the ledger lost the rest
        finally:
            await engine.dispose()

    asyncio.run(main())
    kept = query(database_url, "SELECT request_id, at FROM usage ORDER BY at DESC")
    assert [row["request_id"] for row in kept] == [f"r{n}" for n in range(100)]
    assert len(deletes) == 4 + 1  # 40, 40, 40, 30 (the last, short, ends it), then 0
    assert "LIMIT" in deletes[0].upper()


def test_aggregates_are_never_deleted(database_url: str) -> None:
    async def write() -> None:
        engine = create_engine(database_url)
        try:
            await migrate.upgrade(engine)
            async with engine.begin() as conn:
                await usage_store.insert_records(conn, records())
        finally:
            await engine.dispose()

    async def expire_everything() -> int:
        engine = create_engine(database_url)
        try:
            return await delete_expired_usage(engine, NOW, 1000)
        finally:
            await engine.dispose()

    asyncio.run(write())
    kept = aggregates(database_url)
    assert asyncio.run(expire_everything()) == 250
    assert kept and aggregates(database_url) == kept
    assert query(database_url, "SELECT count(*) AS n FROM usage") == [{"n": 0}]


@pytest.mark.anyio
async def test_the_loop_runs_soon_then_every_interval_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []

    async def delete(before: float) -> int:
        calls.append(before)
        if len(calls) == 2:
            raise OSError("the database is away")
        return 7

    retention = Retention(delete, 30, interval=0.02, first_delay=0.01, clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="quantized.usage"):
        retention.start()
        while len(calls) < 4:
            await asyncio.sleep(0.005)
        await retention.stop()
    assert calls[0] == NOW - 30 * DAY
    assert retention.deleted == 7 * 3
    assert "deleted 7 ledger rows older than 30 days" in caplog.text
    assert "usage retention failed (OSError)" in caplog.text
    await retention.stop()  # twice is fine


@pytest.mark.anyio
async def test_zero_days_keeps_everything() -> None:
    async def delete(before: float) -> int:
        raise AssertionError("nothing is deleted")

    retention = Retention(delete, 0, interval=0.01, first_delay=0)
    retention.start()
    await asyncio.sleep(0.05)
    await retention.stop()
