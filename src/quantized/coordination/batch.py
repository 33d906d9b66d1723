"""Small writes gathered per key and sent together, off the request's path.

Adding is synchronous and costs a dict append: no task, no await. What was added
is sent by one background send a few milliseconds later (or at once when many
are waiting), and :meth:`Batch.flush` sends the rest (at shutdown). A caller may
also :meth:`Batch.take` a key's waiting items to send them with a command of its
own (the rate limiter sends a caller's token charges with its next admission).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("quantized.redis")
K = TypeVar("K")
V = TypeVar("V")


class Batch(Generic[K, V]):
    def __init__(
        self,
        send: Callable[[dict[K, list[V]]], Awaitable[None]],
        *,
        delay: float,
        limit: int,
    ) -> None:
        self._send = send
        self._delay = delay
        self._limit = limit
        self._waiting: dict[K, list[V]] = {}
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sending: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return self._count

    def add(self, key: K, item: V) -> None:
        items = self._waiting.get(key)
        if items is None:
            self._waiting[key] = [item]
        else:
            items.append(item)
        self._count += 1
        if self._sending is not None:
            return  # the running send schedules the next one when it is done
        if self._count >= self._limit:
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self._start)

    def take(self, key: K) -> list[V] | None:
        """Remove and return ``key``'s waiting items (the caller sends them itself)."""
        items = self._waiting.pop(key, None)
        if items is not None:
            self._count -= len(items)
        return items

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is None and self._waiting:
            self._sending = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._send_waiting()
        finally:
            self._sending = None
            if self._count >= self._limit:
                self._start()
            elif self._waiting and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._delay, self._start)

    async def _send_waiting(self) -> None:
        waiting, self._waiting, self._count = self._waiting, {}, 0
        if not waiting:
            return
        try:
            await self._send(waiting)
        except Exception:  # a bug in send must not stop later batches
            log.exception("could not send %d batched Redis writes", len(waiting))

    async def flush(self) -> None:
        """Send everything waiting now (and wait for a send under way)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._sending)
        await self._send_waiting()
