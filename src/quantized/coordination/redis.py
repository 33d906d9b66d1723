"""One Redis connection per process, with health tracking and automatic recovery.

Every call is bounded by a short timeout. A failure marks Redis unavailable (and
is logged once); callers then use their local fallback. A monitor pings every
second and, when Redis answers again, marks it available and tells listeners
(the change-notice subscriber resubscribes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from quantized.coordination.resp import RespClient, RespUnavailable

log = logging.getLogger("quantized.redis")
T = TypeVar("T")


class RedisDown(Exception):  # noqa: N818 - a state, reported to callers that have a fallback
    """Redis did not answer; use the local fallback."""


class RedisLink:
    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        self.prefix = prefix
        self.timeout = timeout
        # A blocking pool: under load, calls wait for a free connection (within the timeout)
        # instead of failing, which would wrongly look like Redis being down.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=64,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        self.client: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self.fast = RespClient(url, timeout)
        """For the per-request commands (limits, spend): pipelined, one connection."""
        self.available = False
        self._monitor: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def on_recovery(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis operation, or raise :class:`RedisDown` (now, or after a failure)."""
        if not self.available:
            raise RedisDown
        try:
            async with asyncio.timeout(self.timeout):
                return await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            self.lost(exc)
            raise RedisDown from None

    async def command(self, *args: Any) -> Any:
        """One command on the fast client, or :class:`RedisDown`."""
        if not self.available:
            raise RedisDown
        try:
            return await self.fast.execute(*args)
        except (RespUnavailable, OSError) as exc:
            self.lost(exc)
            raise RedisDown from None

    async def run_script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """A Lua script on the fast client (by digest), or :class:`RedisDown`."""
        if not self.available:
            raise RedisDown
        try:
            return await self.fast.evalsha(source, keys, args)
        except (RespUnavailable, OSError) as exc:
            self.lost(exc)
            raise RedisDown from None

    def lost(self, exc: BaseException) -> None:
        """Mark Redis unavailable after ``exc`` (logged once per outage)."""
        if self.available:
            self.available = False
            log.warning(
                "Redis is unreachable (%s): limits and spend fall back to this process, "
                "changes are found by polling the database",
                type(exc).__name__,
            )

    async def _ping(self) -> bool:
        try:
            async with asyncio.timeout(max(self.timeout, 1.0)):
                await self.client.ping()
            return True
        except (RedisError, OSError, TimeoutError):
            return False

    async def start(self) -> None:
        self.available = await self._ping()
        if not self.available:
            log.warning(
                "Redis is unreachable at start: limits and spend are per process until it answers"
            )
        self._monitor = asyncio.create_task(self._watch(), name="quantized-redis-monitor")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.available:
                continue
            if await self._ping():
                self.available = True
                log.warning(
                    "Redis is reachable again: shared limits, spend and change notices resume"
                )
                for listener in self._listeners:
                    listener()

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        self.fast.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
