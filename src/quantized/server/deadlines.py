"""Connection deadlines, checked by one periodic sweep instead of a timer per request.

A timer per request (armed, then cancelled a moment later) costs more than
answering a ``/v1/models`` request on the fast path, and so does reading the
clock where that is a system call (some virtual machines). So each connection
only notes when its current wait ends, from a coarse clock (:meth:`Deadlines.due`),
and one task per process reads the clock and looks at every connection a few
times per timeout period, expiring the late ones. Deadlines are therefore
enforced a little late (by at most two periods), never early.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol


class Expiring(Protocol):
    deadline: float | None
    """``time.monotonic()`` after which :meth:`expired` is due; ``None``: none."""

    def expired(self) -> None: ...


class Deadlines:
    def __init__(self, period: float) -> None:
        self.period = period
        self.now = time.monotonic()
        """The clock as of the last sweep."""
        self._watched: set[Expiring] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, connection: Expiring) -> None:
        self._watched.add(connection)

    def forget(self, connection: Expiring) -> None:
        self._watched.discard(connection)

    def due(self, seconds: float) -> float:
        """The deadline of a wait of ``seconds`` starting now (a period late at most)."""
        return self.now + seconds + self.period

    def sweep(self, now: float) -> None:
        self.now = now
        for connection in [c for c in self._watched if c.deadline is not None]:
            if connection.deadline is not None and connection.deadline <= now:
                connection.deadline = None
                connection.expired()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.sweep(time.monotonic())

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Sweep while the server runs (its lifespan)."""
        self._task = asyncio.create_task(self._run(), name="quantized-deadlines")
        try:
            yield
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
