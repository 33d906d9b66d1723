"""The ledger writing to real databases: batches in flight, retries, outages, close()."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence

from quantized.store import migrate
from quantized.store.database import create_engine
from quantized.store.usage_writer import usage_writer
from quantized.usage.ledger import Ledger, UsageRecord
from tests.utils.databases import (
    POSTGRES_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    query,
)
from tests.utils.network import TcpProxy
from tests.utils.records import usage_record


def rec(n: int) -> UsageRecord:
    return usage_record(request_id=f"r{n}", at=1_700_000_000.0 + n, cost_pusd=n)


def rows_per_request(url: str) -> Counter[str]:
    return Counter(str(row["request_id"]) for row in query(url, "SELECT request_id FROM usage"))


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class Announced:
    """An ``on_written`` listener counting how often each record was announced."""

    def __init__(self) -> None:
        self.times: Counter[str] = Counter()

    def __call__(self, batch: Sequence[UsageRecord]) -> None:
        self.times.update(r.request_id for r in batch)


def test_a_stream_of_records_is_written_once_with_batches_in_flight(database_url: str) -> None:
    total = 20_000
    announced = Announced()
    most_in_flight = 0

    async def main() -> None:
        nonlocal most_in_flight
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        writer = usage_writer(engine)
        ledger = Ledger(
            writer, interval=0.05, batch=2000, flush_at=100, concurrency=3, on_written=announced
        )
        ledger.start()
        try:
            for n in range(total):
                ledger.record(rec(n))
                if n % 200 == 199:  # requests finish in bursts between turns of the loop
                    most_in_flight = max(most_in_flight, ledger.writes_in_flight)
                    await asyncio.sleep(0)
            await until(lambda: ledger.written == total)
            assert ledger.pending == 0 and ledger.in_flight == 0 and ledger.dropped == 0
        finally:
            await ledger.close()
            await writer.close()
            await engine.dispose()

    asyncio.run(main())
    assert most_in_flight >= 2
    assert rows_per_request(database_url) == Counter({f"r{n}": 1 for n in range(total)})
    assert announced.times == Counter({f"r{n}": 1 for n in range(total)})


def test_a_batch_whose_answer_was_lost_is_retried_without_duplicates(database_url: str) -> None:
    """The first write commits, then fails as if the connection broke before the answer."""
    total = 1000
    announced = Announced()
    calls: list[int] = []

    async def main() -> None:
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        writer = usage_writer(engine)

        async def answer_lost_once(batch: Sequence[UsageRecord]) -> None:
            first = not calls
            calls.append(len(batch))
            await writer(batch)
            if first:
                raise ConnectionResetError("connection lost before the answer")

        ledger = Ledger(answer_lost_once, interval=0.01, batch=300, on_written=announced)
        ledger.start()
        try:
            for n in range(total):
                ledger.record(rec(n))
            await until(lambda: ledger.written == total)
        finally:
            await ledger.close()
            await writer.close()
            await engine.dispose()

    asyncio.run(main())
    assert sum(calls) == total + calls[0]  # the first batch went twice
    assert rows_per_request(database_url) == Counter({f"r{n}": 1 for n in range(total)})
    assert announced.times == Counter({f"r{n}": 1 for n in range(total)})


def test_postgres_away_then_back_loses_and_duplicates_nothing() -> None:
    url = create_postgres_database()
    port = int(POSTGRES_ADMIN_URL.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(port).start()
    through_proxy = f"postgresql://postgres@127.0.0.1:{proxy.port}/{url.rsplit('/', 1)[1]}"
    announced = Announced()

    async def main() -> None:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        engine = create_engine(through_proxy)
        writer = usage_writer(engine)
        ledger = Ledger(writer, interval=0.01, flush_at=50, concurrency=4, on_written=announced)
        ledger.start()
        try:
            for n in range(500):
                ledger.record(rec(n))
            await until(lambda: ledger.written == 500)
            proxy.cut()
            for n in range(500, 3000):
                ledger.record(rec(n))
                if n % 100 == 0:
                    await asyncio.sleep(0.01)
            await until(lambda: ledger.failed_writes >= 3)  # tried, failed, tried again
            assert ledger.written == 500 and ledger.pending + ledger.in_flight == 2500
            proxy.start()
            await until(lambda: ledger.written == 3000)
        finally:
            await ledger.close()
            await writer.close()
            await engine.dispose()

    try:
        asyncio.run(main())
        assert rows_per_request(url) == Counter({f"r{n}": 1 for n in range(3000)})
        assert announced.times == Counter({f"r{n}": 1 for n in range(3000)})
    finally:
        proxy.cut()
        drop_postgres_database(url)


def test_close_writes_what_waits_and_what_is_in_flight(database_url: str) -> None:
    total = 12_345

    async def main() -> tuple[int, int]:
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        writer = usage_writer(engine)
        ledger = Ledger(writer, interval=60, batch=1000, flush_at=500, concurrency=2)
        ledger.start()
        try:
            for n in range(total):
                ledger.record(rec(n))
            await asyncio.sleep(0)  # the first writes start
            in_flight, waiting = ledger.in_flight, ledger.pending
        finally:
            await ledger.close()
            await writer.close()
            await engine.dispose()
        assert ledger.written == total and ledger.pending == 0 and ledger.in_flight == 0
        return in_flight, waiting

    in_flight, waiting = asyncio.run(main())
    assert in_flight > 0 and waiting > 0  # close() found both kinds
    assert rows_per_request(database_url) == Counter({f"r{n}": 1 for n in range(total)})


def test_a_record_the_database_cannot_store_does_not_hold_up_the_others() -> None:
    """PostgreSQL refuses a caller id over its column's 200 characters: that record alone is
    dropped (and logged), the rest of its batch and every batch behind it are written."""
    url = create_postgres_database()

    async def main() -> Ledger:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        writer = usage_writer(engine)
        ledger = Ledger(writer, interval=0.01, batch=50, flush_at=50)
        ledger.start()
        try:
            for n in range(200):
                bad = n == 17
                ledger.record(usage_record(request_id=f"r{n}", caller_id="x" * 300 if bad else "7"))
            await until(lambda: ledger.written + ledger.refused == 200)
        finally:
            await ledger.close()
            await writer.close()
            await engine.dispose()
        return ledger

    try:
        ledger = asyncio.run(main())
        assert (ledger.written, ledger.refused, ledger.pending) == (199, 1, 0)
        assert set(rows_per_request(url)) == {f"r{n}" for n in range(200) if n != 17}
    finally:
        drop_postgres_database(url)
