"""The ledger: every chat request served, recorded off the request's critical path.

Requests hand records to :meth:`Ledger.record`, which appends to a queue and, once
``flush_at`` records wait, starts a write. Otherwise a timer starts one ``interval``
seconds after the oldest waiting record arrived. Up to ``concurrency`` writes run at
once, each taking at most ``batch`` records; a write that finishes takes whatever is
due next itself, so a busy event loop adds no extra turns between batches.

A batch that fails goes back to the queue and is written again later, after a growing
pause and one batch at a time until the database answers; the writer must skip records
already written (same request id), so a retry never duplicates a row. Records wait up
to ``capacity``; beyond it the oldest are dropped, and logged. Closing the ledger (at
graceful shutdown) writes everything still waiting.

A writer that refuses a batch because a record in it can never be stored (a value
the database rejects) raises :class:`RecordsRefused`: the batch is then written one
record at a time, and only the records refused on their own are dropped (logged with
their request ids, counted in :attr:`refused`), so one bad record cannot hold up the
ledger behind it.

Counters, for metrics: :attr:`pending` (records waiting), :attr:`in_flight` (records
being written), :attr:`writes_in_flight`, :attr:`written`, :attr:`dropped`,
:attr:`refused` and :attr:`failed_writes`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("quantized.usage")


@dataclass(frozen=True, slots=True)
class UsageRecord:
    request_id: str
    at: float
    day: str
    caller_kind: str
    caller_id: str
    model: str
    upstream: str | None
    status: int
    stream: bool
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    cost_pusd: int
    latency_ms: float
    estimated: bool
    error_code: str | None
    team_id: int | None = None
    person: str | None = None
    attempts: int = 0
    """Upstream calls made for the request: retries and fallbacks each count one."""
    price_id: int | None = None
    """The price history's row the request was charged at: the model's price in force
    when the request began (``None``: no model, or a model stored before price history)."""


class RecordsRefused(Exception):  # noqa: N818 - an answer of the database, not a failure
    """The database refused a record of the batch (a value it cannot store): retrying the
    batch as it is cannot succeed."""


Writer = Callable[[Sequence[UsageRecord]], Awaitable[None]]
Listener = Callable[[Sequence[UsageRecord]], None]

_MAX_PAUSE = 5.0  # seconds between attempts while the database stays away


class Ledger:
    def __init__(
        self,
        write: Writer,
        *,
        interval: float = 0.05,
        batch: int = 1000,
        flush_at: int | None = None,
        concurrency: int = 2,
        capacity: int = 1_000_000,
        on_written: Listener | None = None,
    ) -> None:
        if min(batch, concurrency, capacity) < 1 or interval <= 0:
            raise ValueError("interval, batch, concurrency and capacity must be positive")
        self._write = write
        self._interval = interval
        self._batch = batch
        self._flush_at = min(flush_at or batch, batch)
        self._concurrency = concurrency
        self._capacity = capacity
        self._on_written = on_written
        self._pending: deque[UsageRecord] = deque()
        self._since = 0.0  # when the oldest waiting record arrived (time.monotonic)
        self._writers: set[asyncio.Task[None]] = set()
        self._starting = 0  # writers started that have not taken their first batch yet
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._running = False
        self._failures = 0  # consecutive failed writes
        self._retry_at = 0.0
        self._drop_logged = -1.0
        self.in_flight = 0
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        self.refused = 0

    @property
    def pending(self) -> int:
        """Records waiting to be written (not counting those being written)."""
        return len(self._pending)

    @property
    def writes_in_flight(self) -> int:
        return len(self._writers)

    def record(self, record: UsageRecord) -> None:
        """Queue a record; never blocks, never fails."""
        pending = self._pending
        if not pending:
            self._since = time.monotonic()
            pending.append(record)
            if self._running:
                self._kick()  # sets the timer (or writes at once, if flush_at is 1)
            return
        if len(pending) + self.in_flight >= self._capacity:
            self._drop(1)
        pending.append(record)
        if (
            len(pending) >= self._flush_at
            and not self._starting  # one already comes for these records
            and len(self._writers) < self._concurrency
            and self._running
            and not self._failures
        ):
            self._start_writer()

    async def flush(self) -> bool:
        """Write what is waiting, a batch at a time; return whether everything was written."""
        while self._pending:
            if not await self._write_batch(self._take()):
                return False
        return True

    def start(self) -> None:
        self._running = True
        self._kick()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop writing in the background, then write everything still waiting.

        Writes in flight finish first; failed batches are retried until ``timeout``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writers:
            await asyncio.wait(self._writers, timeout=max(deadline - loop.time(), 0))
        while not await self.flush() and loop.time() < deadline:
            await asyncio.sleep(0.5)
        if self._pending or self.in_flight:
            log.error(
                "%d usage records could not be written before shutdown",
                len(self._pending) + self.in_flight,
            )

    def _kick(self) -> None:
        """Start a writer if records are due (and none is on its way), else set the timer."""
        if not self._pending or not self._running:
            return
        when = self._due(time.monotonic())
        if when is not None:
            self._wake_at(when)
        elif not self._starting and len(self._writers) < self._slots():
            self._start_writer()

    def _slots(self) -> int:
        return 1 if self._failures else self._concurrency

    def _due(self, now: float) -> float | None:
        """``None`` if the waiting records are due for writing, else when they will be."""
        if now < self._retry_at:
            return self._retry_at
        if len(self._pending) < self._flush_at and now < self._since + self._interval:
            return self._since + self._interval
        return None

    def _wake_at(self, when: float) -> None:
        """Run :meth:`_kick` at ``when`` (time.monotonic), unless it already runs before."""
        if self._timer is not None:
            if self._timer_at <= when:
                return
            self._timer.cancel()
        self._timer_at = when
        delay = max(when - time.monotonic(), 0) + 0.001  # timers may round down to the ms
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._kick()

    def _start_writer(self) -> None:
        task = asyncio.get_running_loop().create_task(self._writer())
        self._starting += 1
        self._writers.add(task)
        task.add_done_callback(self._writers.discard)

    async def _writer(self) -> None:
        """Write due batches until none is left (or a write fails)."""
        self._starting -= 1
        while self._pending and self._due(time.monotonic()) is None:
            batch = self._take()
            self._kick()  # more is due: another writer takes it, up to the concurrency
            if not await self._write_batch(batch):
                return
        self._kick()  # records wait that are not due yet: set the timer

    def _take(self) -> list[UsageRecord]:
        pending = self._pending
        if len(pending) <= self._batch:
            batch = list(pending)
            pending.clear()
        else:
            batch = [pending.popleft() for _ in range(self._batch)]
        return batch

    async def _write_batch(self, batch: list[UsageRecord]) -> bool:
        """Write one batch; if it fails (or is cancelled) put back what was not written."""
        self.in_flight += len(batch)
        written: list[UsageRecord] = []
        handled = 0  # records written or refused, when written one by one
        try:
            try:
                await self._write(batch)
                written, handled = batch, len(batch)
            except RecordsRefused:  # a record that can never be stored: find it
                for record in batch:
                    try:
                        await self._write([record])
                        written.append(record)
                    except RecordsRefused:
                        self.refused += 1
                        log.error("usage record %s cannot be stored: dropped", record.request_id)
                    handled += 1
        except BaseException as exc:
            self.in_flight -= len(batch)
            self._acknowledge(written)
            self._put_back(batch[handled:])
            if not isinstance(exc, Exception):
                raise
            self._failed(exc, len(batch) - handled)
            return False
        self.in_flight -= len(batch)
        self._failures = 0
        self._acknowledge(written)
        return True

    def _acknowledge(self, written: list[UsageRecord]) -> None:
        if not written:
            return
        self.written += len(written)
        if self._on_written is not None:
            try:
                self._on_written(written)
            except Exception:  # a listener's bug must not stop the ledger
                log.exception("usage listener failed")

    def _put_back(self, batch: list[UsageRecord]) -> None:
        self._since = 0.0  # overdue: written again as soon as the pause after a failure ends
        self._pending.extendleft(reversed(batch))
        excess = len(self._pending) + self.in_flight - self._capacity
        if excess > 0:
            self._drop(min(excess, len(self._pending)))

    def _failed(self, exc: Exception, size: int) -> None:
        self._failures += 1
        self.failed_writes += 1
        pause = min(self._interval * 2.0**self._failures, _MAX_PAUSE)
        self._retry_at = time.monotonic() + pause
        log.warning(
            "could not write %d usage records (%s; %d waiting); retrying in %.2f s",
            size,
            type(exc).__name__,
            len(self._pending),
            pause,
        )
        if self._running:
            self._wake_at(self._retry_at)

    def _drop(self, count: int) -> None:
        for _ in range(count):
            self._pending.popleft()
        self.dropped += count
        now = time.monotonic()
        if self._drop_logged < 0 or now - self._drop_logged >= 1.0:  # not once a record
            self._drop_logged = now
            log.error(
                "usage buffer full (%d records): dropped the oldest (%d so far)",
                self._capacity,
                self.dropped,
            )
