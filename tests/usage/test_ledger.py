from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from quantized.usage.ledger import Ledger, UsageRecord
from tests.utils.records import usage_record


def rec(n: int) -> UsageRecord:
    return usage_record(request_id=f"r{n}", at=1_700_000_000.0 + n, cost_pusd=n)


class Store:
    """An in-memory writer that can be told to fail."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.failures = failures
        self.calls = 0

    async def __call__(self, batch: Sequence[UsageRecord]) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database away")
        self.batches.append(list(batch))

    @property
    def records(self) -> list[UsageRecord]:
        return [r for batch in self.batches for r in batch]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def test_the_background_task_writes_in_batches() -> None:
    async def main() -> None:
        store = Store()
        ledger = Ledger(store, interval=0.01, batch=2)
        ledger.start()
        for n in range(5):
            ledger.record(rec(n))
        assert ledger.pending == 5 and store.calls == 0  # record() never writes itself
        await until(lambda: ledger.written == 5)
        assert ledger.pending == 0 and ledger.in_flight == 0
        assert [len(b) for b in store.batches] == [2, 2, 1]
        assert store.records == [rec(n) for n in range(5)]
        assert ledger.written == 5
        await ledger.close()

    asyncio.run(main())


def test_a_full_batch_wakes_the_writer_before_the_interval() -> None:
    async def main() -> None:
        store = Store()
        ledger = Ledger(store, interval=60, batch=3)
        ledger.start()
        await asyncio.sleep(0.01)
        ledger.record(rec(1))
        ledger.record(rec(2))
        await asyncio.sleep(0.05)
        assert store.calls == 0  # below a batch: waits for the interval
        ledger.record(rec(3))
        await until(lambda: ledger.written == 3, timeout=2)
        await ledger.close()

    asyncio.run(main())


def test_a_failing_writer_keeps_the_records_for_a_later_flush() -> None:
    async def main() -> None:
        store = Store(failures=1)
        ledger = Ledger(store)
        ledger.record(rec(1))
        ledger.record(rec(2))
        assert await ledger.flush() is False
        assert ledger.pending == 2 and ledger.written == 0 and store.batches == []
        assert await ledger.flush() is True
        assert ledger.pending == 0 and ledger.written == 2
        assert store.records == [rec(1), rec(2)]

    asyncio.run(main())


def test_the_background_task_retries_a_failing_writer() -> None:
    async def main() -> None:
        store = Store(failures=3)
        ledger = Ledger(store, interval=0.001)
        ledger.start()
        ledger.record(rec(1))
        await until(lambda: ledger.written == 1)
        assert store.calls == 4
        assert store.records == [rec(1)]
        await ledger.close()

    asyncio.run(main())


def test_a_full_buffer_drops_the_oldest() -> None:
    async def main() -> None:
        store = Store()
        ledger = Ledger(store, capacity=3)
        for n in range(5):
            ledger.record(rec(n))
        assert ledger.pending == 3
        assert ledger.dropped == 2
        await ledger.flush()
        assert store.records == [rec(2), rec(3), rec(4)]

    asyncio.run(main())


def test_close_writes_everything_pending() -> None:
    async def main() -> None:
        store = Store()
        ledger = Ledger(store, interval=60, batch=1000)
        ledger.start()
        for n in range(3):
            ledger.record(rec(n))
        await ledger.close()
        assert ledger.pending == 0
        assert store.records == [rec(0), rec(1), rec(2)]

    asyncio.run(main())


def test_close_retries_then_gives_up_at_the_timeout() -> None:
    async def main() -> None:
        store = Store(failures=1)
        ledger = Ledger(store)
        ledger.record(rec(1))
        await ledger.close(timeout=5)  # one retry after 0.5 s succeeds
        assert store.records == [rec(1)]

        stuck = Store(failures=1000)
        ledger = Ledger(stuck)
        ledger.record(rec(2))
        await ledger.close(timeout=0)
        assert ledger.pending == 1 and stuck.calls == 1

    asyncio.run(main())


def test_on_written_gets_each_written_batch() -> None:
    async def main() -> None:
        seen: list[list[UsageRecord]] = []
        store = Store(failures=1)
        ledger = Ledger(store, batch=2, on_written=lambda batch: seen.append(list(batch)))
        for n in range(3):
            ledger.record(rec(n))
        await ledger.flush()
        assert seen == []  # nothing written, nothing announced
        await ledger.flush()
        assert seen == [[rec(0), rec(1)], [rec(2)]] == store.batches

    asyncio.run(main())


def test_a_failing_listener_does_not_stop_the_writer() -> None:
    def listener(batch: Sequence[UsageRecord]) -> None:
        if batch[0] == rec(1):
            raise RuntimeError("listener bug")

    async def main() -> None:
        store = Store()
        ledger = Ledger(store, interval=0.01, on_written=listener)
        ledger.start()
        ledger.record(rec(1))
        await until(lambda: ledger.written == 1)
        ledger.record(rec(2))
        with contextlib.suppress(TimeoutError):
            await until(lambda: ledger.written == 2, timeout=1)
        written_in_background = ledger.written
        await ledger.close()
        assert written_in_background == 2
        assert store.records == [rec(1), rec(2)]

    asyncio.run(main())


class Gated(Store):
    """A writer whose writes wait until the test opens the gate."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__(failures)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def __call__(self, batch: Sequence[UsageRecord]) -> None:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        await super().__call__(batch)


def test_up_to_concurrency_batches_are_written_at_once() -> None:
    async def main() -> None:
        store = Gated()
        ledger = Ledger(store, interval=60, batch=2, concurrency=3)
        ledger.start()
        for n in range(10):
            ledger.record(rec(n))
        await until(lambda: store.waiting == 3)
        await asyncio.sleep(0.02)
        assert store.waiting == 3 and ledger.writes_in_flight == 3
        assert ledger.in_flight == 6 and ledger.pending == 4
        store.gate.set()  # each finishing write takes the next due batch itself
        await until(lambda: ledger.written == 10)
        assert sorted(store.records, key=lambda r: r.at) == [rec(n) for n in range(10)]
        await ledger.close()

    asyncio.run(main())


def test_a_lone_record_waits_at_most_the_interval() -> None:
    async def main() -> None:
        store = Store()
        ledger = Ledger(store, interval=0.2, batch=1000, flush_at=100)
        ledger.start()
        started = time.monotonic()
        ledger.record(rec(1))
        await asyncio.sleep(0.1)
        assert store.calls == 0  # below flush_at: waits for the interval
        await until(lambda: ledger.written == 1)
        assert 0.2 <= time.monotonic() - started < 1.0
        for n in range(2, 102):  # flush_at reached: written at once
            ledger.record(rec(n))
        await until(lambda: ledger.written == 101, timeout=0.15)
        await ledger.close()

    asyncio.run(main())


def test_after_a_failure_batches_go_one_at_a_time_until_one_succeeds() -> None:
    async def main() -> None:
        store = Gated(failures=1)
        ledger = Ledger(store, interval=0.1, batch=2, concurrency=3)  # retried after 0.2 s
        ledger.start()
        for n in range(2):
            ledger.record(rec(n))
        await until(lambda: store.waiting == 1)
        store.gate.set()
        await until(lambda: ledger.failed_writes == 1)
        store.gate.clear()
        for n in range(2, 12):
            ledger.record(rec(n))
        await until(lambda: store.waiting == 1)  # the retry, alone
        await asyncio.sleep(0.05)
        assert store.waiting == 1 and ledger.writes_in_flight == 1
        store.gate.set()
        await until(lambda: ledger.written == 12)
        assert store.calls == 7  # one failure, then six batches of two, none twice
        await ledger.close()

    asyncio.run(main())


def test_capacity_counts_the_records_being_written() -> None:
    async def main() -> None:
        store = Gated()
        ledger = Ledger(store, interval=60, batch=4, concurrency=1, capacity=6)
        ledger.start()
        for n in range(4):
            ledger.record(rec(n))
        await until(lambda: store.waiting == 1)  # records 0-3 in flight
        for n in range(4, 9):
            ledger.record(rec(n))
        assert ledger.dropped == 3 and ledger.pending == 2  # 4-6 dropped, 7-8 wait
        store.gate.set()
        await ledger.close()
        assert store.records == [rec(n) for n in (0, 1, 2, 3, 7, 8)]

    asyncio.run(main())
