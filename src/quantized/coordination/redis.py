"""One Redis connection per process, with health tracking and automatic recovery.

Every call is bounded by a short timeout. A connection found closed by the other
side (Redis restarted since it was opened) is replaced and the command sent once
more; a failure after that, or a timeout, marks Redis unavailable (logged once)
and callers use their local fallback. A monitor pings every second and, when
Redis answers again, marks it available and tells listeners (the change-notice
subscriber resubscribes).

An error reply (``OOM``, ``READONLY``, ``WRONGTYPE``, a script error) is not an
outage: Redis answers, so it stays available (``/readyz`` is unaffected), but
the caller gets :class:`RedisRefused` — a :class:`RedisDown` — and uses its
fallback for that command. Each kind of error is logged once, then at most once
a minute with how many more there were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from quantized.coordination.address import RedisAddress, parse_redis_url
from quantized.coordination.resp import RespClient, RespError, RespUnavailable

log = logging.getLogger("quantized.redis")
T = TypeVar("T")


REMIND_EVERY = 60.0
"""Seconds between two log lines about the same kind of error reply."""


class RedisDown(Exception):  # noqa: N818 - a state, reported to callers that have a fallback
    """Redis did not answer; use the local fallback."""


class RedisRefused(RedisDown):
    """Redis answered with an error; use the local fallback for this command."""


def redis_client(address: RedisAddress, timeout: float, max_connections: int) -> aioredis.Redis:
    """A redis-py client for ``address`` whose commands meeting a connection closed by the
    other side are sent once more on a fresh connection (never after a timeout)."""
    # A blocking pool: under load, calls wait for a free connection (within the timeout)
    # instead of failing, which would wrongly look like Redis being down.
    pool = aioredis.BlockingConnectionPool(
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
        **address.redis_py_options(),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


class RedisLink:
    def __init__(self, url: str | RedisAddress, prefix: str, timeout: float) -> None:
        address = parse_redis_url(url) if isinstance(url, str) else url
        self.prefix = prefix
        self.timeout = timeout
        self.client = redis_client(address, timeout, max_connections=64)
        self.fast = RespClient(address, timeout)
        """For the per-request commands (limits, spend): pipelined, one connection."""
        self.available = False
        self._monitor: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._refusals: dict[str, tuple[float, int]] = {}
        """Per kind of error reply: when it was last logged, how many since."""

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
        except ResponseError as exc:
            self.refused(exc)
            raise RedisRefused from None
        except (RedisError, OSError, TimeoutError) as exc:
            self.lost(exc)
            raise RedisDown from None

    async def command(self, *args: Any) -> Any:
        """One command on the fast client, or :class:`RedisDown`."""
        if not self.available:
            raise RedisDown
        try:
            return await self.fast.execute(*args)
        except RespError as exc:
            self.refused(exc)
            raise RedisRefused from None
        except (RespUnavailable, OSError) as exc:
            self.lost(exc)
            raise RedisDown from None

    async def run_script(self, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """A Lua script on the fast client (by digest), or :class:`RedisDown`."""
        if not self.available:
            raise RedisDown
        try:
            return await self.fast.evalsha(source, keys, args)
        except RespError as exc:
            self.refused(exc)
            raise RedisRefused from None
        except (RespUnavailable, OSError) as exc:
            self.lost(exc)
            raise RedisDown from None

    def lost(self, exc: BaseException) -> None:
        """Mark Redis unavailable after ``exc`` (logged once per outage)."""
        if self.available:
            self.available = False
            log.warning(
                "Redis is unreachable (%s: %s): limits and spend fall back to this process, "
                "changes are found by polling the database",
                type(exc).__name__,
                _first_line(exc),
            )

    def refused(self, exc: BaseException) -> None:
        """Note an error reply: logged the first time, then at most once a minute per kind."""
        message = _first_line(exc).rstrip(".")
        kind = message.split(" ", 1)[0]
        now = time.monotonic()
        logged, since = self._refusals.get(kind, (0.0, -1))
        if since >= 0 and now - logged < REMIND_EVERY:
            self._refusals[kind] = (logged, since + 1)
            return
        self._refusals[kind] = (now, 0)
        more = f" ({since} more since the last report)" if since > 0 else ""
        log.warning(
            "Redis answered a command with an error (%s)%s: for such commands this process "
            "falls back as when Redis is unreachable",
            message,
            more,
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


def _first_line(exc: BaseException) -> str:
    text = (str(exc) or type(exc).__name__).splitlines()[0]
    return text if len(text) <= 200 else text[:200] + "…"
