"""The ledger's writers and insert_records, on real SQLite files and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import astuple, fields
from pathlib import Path

import pytest

from quantized.store import migrate
from quantized.store import usage as usage_store
from quantized.store.database import create_engine
from quantized.store.usage_writer import PostgresUsageWriter, SqliteUsageWriter, usage_writer
from quantized.usage.ledger import UsageRecord
from tests.utils.databases import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    query,
)
from tests.utils.network import TcpProxy
from tests.utils.records import usage_record

COLUMNS = ", ".join(f.name for f in fields(UsageRecord))


def records(prefix: str, count: int) -> list[UsageRecord]:
    """Records with every kind of value: NULLs, booleans, large integers, exact floats."""
    return [
        usage_record(
            request_id=f"{prefix}{n}",
            at=1_764_000_000.123457 + n / 7,
            day="2026-11-25",
            caller_kind="jwt" if n % 2 else "key",
            caller_id=f'caller "{n}" é ✓',
            upstream=None if n % 3 else f"https://api.example.com/v1#{n}",
            status=200 if n % 5 else 502,
            stream=bool(n % 2),
            prompt_tokens=n * 1000,
            cached_tokens=n,
            cache_write_tokens=n * 2,
            completion_tokens=n * 3,
            cost_pusd=9_000_000_000_000_000_000 + n,  # near the top of BIGINT
            latency_ms=0.1 + n / 3,
            estimated=n % 4 == 0,
            error_code=None if n % 5 else "upstream_error",
        )
        for n in range(count)
    ]


def stored(url: str) -> list[tuple[object, ...]]:
    rows = query(url, f"SELECT {COLUMNS} FROM usage ORDER BY request_id")  # noqa: S608
    kinds = [f.type for f in fields(UsageRecord)]
    return [
        tuple(bool(v) if kind == "bool" else v for kind, v in zip(kinds, row.values(), strict=True))
        for row in rows
    ]


def expected(batch: list[UsageRecord]) -> list[tuple[object, ...]]:
    return sorted((astuple(r) for r in batch), key=lambda row: str(row[0]))


async def migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def test_every_value_round_trips_and_a_batch_sent_twice_is_written_once(
    database_url: str,
) -> None:
    batch = records("r", 250)

    async def main() -> None:
        await migrated(database_url)
        engine = create_engine(database_url)
        writer = usage_writer(engine)
        try:
            await writer(batch)
            await writer(batch[100:] + records("more", 3))  # a retry, and three new ones
            await writer([])
        finally:
            await writer.close()
            await engine.dispose()

    asyncio.run(main())
    assert stored(database_url) == expected(batch + records("more", 3))


def test_insert_records_writes_the_same_rows(database_url: str) -> None:
    batch = records("r", 40)

    async def main() -> None:
        await migrated(database_url)
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await usage_store.insert_records(conn, batch[:30])
            async with engine.begin() as conn:
                await usage_store.insert_records(conn, batch)  # the first 30 again
                await usage_store.insert_records(conn, [])
        finally:
            await engine.dispose()

    asyncio.run(main())
    assert stored(database_url) == expected(batch)


def test_batches_written_at_once_all_land(database_url: str) -> None:
    batches = [records(f"b{k}-", 500) for k in range(6)]
    kept: list[int] = []

    async def main() -> None:
        await migrated(database_url)
        engine = create_engine(database_url)
        writer = usage_writer(engine)
        try:
            await asyncio.gather(*(writer(batch) for batch in batches))
            if isinstance(writer, PostgresUsageWriter):
                kept.append(writer.connections)
        finally:
            await writer.close()
            await engine.dispose()

    asyncio.run(main())
    assert len(stored(database_url)) == 3000
    if database_url.startswith("postgresql"):
        assert kept == [6]  # each batch in flight had a connection of its own, kept


def test_a_cut_connection_fails_the_batch_and_the_next_batch_reconnects() -> None:
    url = create_postgres_database()
    port = int(POSTGRES_ADMIN_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(port).start()
    through_proxy = f"postgresql://postgres@127.0.0.1:{proxy.port}/{url.rsplit('/', 1)[1]}"
    first, second = records("first", 10), records("second", 10)

    async def main() -> None:
        await migrated(url)
        engine = create_engine(through_proxy)
        writer = usage_writer(engine)
        try:
            await writer(first)
            proxy.cut()
            with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
                await writer(second)
            proxy.start()
            await writer(second)
            await writer(first + second)  # nothing twice
        finally:
            await writer.close()
            await engine.dispose()

    try:
        asyncio.run(main())
        assert stored(url) == expected(first + second)
    finally:
        proxy.cut()
        drop_postgres_database(url)


def test_the_sqlite_writer_fails_a_batch_then_writes_once_the_file_can_be_opened(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'later' / 'q.db'}"
    batch = records("r", 20)

    async def main() -> None:
        writer = SqliteUsageWriter(url.removeprefix("sqlite:///"))
        try:
            with pytest.raises(sqlite3.OperationalError):  # no such directory yet
                await writer(batch)
            (tmp_path / "later").mkdir()
            await migrated(url)
            await writer(batch)
            await writer(batch)
        finally:
            await writer.close()

    asyncio.run(main())
    assert stored(url) == expected(batch)
