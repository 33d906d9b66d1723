"""Usage retention: raw ledger rows older than the configured days are deleted in the
background (the daily aggregates stay; see :mod:`quantized.store.retention`).

The first run comes shortly after start, then one every ``interval`` seconds. A run
that fails (the database is away) is logged and tried again at the next one; nothing
leaves the loop but :meth:`Retention.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("quantized.usage")
DAY = 86400.0


class Retention:
    """Calls ``delete(before)`` (it deletes rows recorded before ``before``, unix seconds,
    and returns how many) for rows older than ``days`` days; ``days=0`` keeps them all."""

    def __init__(
        self,
        delete: Callable[[float], Awaitable[int]],
        days: int,
        interval: float = 3600.0,
        *,
        first_delay: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._delete = delete
        self.days = days
        self.interval = interval
        self.first_delay = first_delay
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.deleted = 0
        """Rows deleted since start (for tests and metrics)."""

    async def run_once(self) -> int:
        """Delete the expired rows now; how many were deleted."""
        before = self._clock() - self.days * DAY
        deleted = await self._delete(before)
        self.deleted += deleted
        if deleted:
            log.info(
                "usage retention: deleted %d ledger rows older than %d days", deleted, self.days
            )
        return deleted

    async def _run(self) -> None:
        pause = self.first_delay
        while True:
            await asyncio.sleep(pause)
            pause = self.interval
            try:
                await self.run_once()
            except Exception as exc:  # noqa: BLE001 - the next run tries again
                log.warning("usage retention failed (%s); trying again later", type(exc).__name__)

    def start(self) -> None:
        """Run in the background (nothing when rows are kept forever)."""
        if self.days > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="quantized-usage-retention"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
