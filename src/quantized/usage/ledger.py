"""The ledger: every chat request served, recorded off the request's critical path.

Requests hand records to :meth:`Ledger.record`, which only appends to a list. A
background task writes them in batches; if the database is unavailable the
records wait (up to ``capacity``; beyond it the oldest are dropped, and logged)
and are written when it returns.
Closing the ledger (at graceful shutdown) writes everything still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    completion_tokens: int
    cost_pusd: int
    latency_ms: float
    estimated: bool
    error_code: str | None


Writer = Callable[[Sequence[UsageRecord]], Awaitable[None]]
Listener = Callable[[Sequence[UsageRecord]], None]


class Ledger:
    def __init__(
        self,
        write: Writer,
        *,
        interval: float = 0.05,
        batch: int = 1000,
        capacity: int = 1_000_000,
        on_written: Listener | None = None,
    ) -> None:
        self._write = write
        self._interval = interval
        self._batch = batch
        self._capacity = capacity
        self._on_written = on_written
        self._pending: list[UsageRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, record: UsageRecord) -> None:
        """Queue a record; never blocks, never fails."""
        if len(self._pending) >= self._capacity:
            self._pending.pop(0)
            self.dropped += 1
            log.error("usage buffer full (%d records): dropped the oldest", self._capacity)
        self._pending.append(record)
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> bool:
        """Write what is waiting; return whether everything was written."""
        while self._pending:
            batch = self._pending[: self._batch]
            try:
                await self._write(batch)
            except Exception as exc:  # the database may be away: keep the records, retry later
                log.warning(
                    "could not write %d usage records (%s); will retry",
                    len(self._pending),
                    type(exc).__name__,
                )
                return False
            del self._pending[: len(batch)]
            self.written += len(batch)
            if self._on_written is not None:
                try:
                    self._on_written(batch)
                except Exception:  # a listener's bug must not stop the ledger
                    log.exception("usage listener failed")
        return True

    async def _run(self) -> None:
        backoff = self._interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff)
            self._wake.clear()
            backoff = self._interval if await self.flush() else min(backoff * 2 or 0.1, 5.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="quantized-ledger")

    async def close(self, timeout: float = 30.0) -> None:
        """Stop the writer and write everything still waiting (retrying until ``timeout``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await self.flush() and loop.time() < deadline:
            await asyncio.sleep(0.5)
        if self._pending:
            log.error("%d usage records could not be written before shutdown", len(self._pending))
