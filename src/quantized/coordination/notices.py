"""Change notices: a write anywhere makes every instance look for changes at once.

The change log in the database stays the source of truth; a notice only says
"look now" instead of waiting for the next poll, so a lost notice costs at most
one polling interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from quantized.coordination.address import parse_redis_url
from quantized.coordination.redis import RedisDown, RedisLink, redis_client

log = logging.getLogger("quantized.redis")


class ChangeNotices:
    def __init__(self, link: RedisLink, on_notice: Callable[[], Awaitable[object]]) -> None:
        self._link = link
        self._on_notice = on_notice
        self._channel = link.key("changes")
        self._task: asyncio.Task[None] | None = None
        self.listening = False

    async def publish(self) -> None:
        with contextlib.suppress(RedisDown):
            await self._link.call(lambda: self._link.client.publish(self._channel, b"changed"))

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="quantized-change-notices")
        self._link.on_recovery(self._restart)

    def _restart(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="quantized-change-notices")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._link.client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.listening = True
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._on_notice()
            except (RedisError, OSError) as exc:
                self.listening = False
                self._link.lost(exc)
                return  # the link's monitor restarts us when Redis answers again
            except asyncio.CancelledError:
                self.listening = False
                raise

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._task


async def publish_once(url: str, prefix: str, timeout: float = 1.0) -> None:
    """Tell running instances to look for changes (for the CLI, which has no running link)."""
    client = redis_client(parse_redis_url(url), timeout, max_connections=1)
    try:
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await client.publish(f"{prefix}:changes", b"changed")
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
