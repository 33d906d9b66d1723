"""A small pipelined Redis client for the per-request commands.

Rate limits and spend touch Redis on every chat request, and a general-purpose
client spends well over 100 µs a command on pools, retries and timeouts. This
one keeps a single connection, writes each command as soon as it is asked for
(several can be in flight) and matches replies in order with hiredis's parser.
A command that gets no reply within the timeout closes the connection (its
state is unknown); the next command opens a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis


class RespError(Exception):
    """Redis answered with an error."""


class RespUnavailable(Exception):  # noqa: N818 - a state, as RedisDown
    """No connection, or no reply within the timeout."""


def encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            if not self.waiters:
                continue
            waiter = self.waiters.popleft()
            if waiter.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(RespError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RespUnavailable("the Redis connection closed"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RespClient:
    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._password = unquote(parts.password) if parts.password else None
        self._username = unquote(parts.username) if parts.username else None
        self._db = int(parts.path.strip("/") or 0)
        self._timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._scripts: dict[str, str] = {}

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and not protocol.closed:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._timeout * 4):
                    _, protocol = await loop.create_connection(_Protocol, self._host, self._port)
            except (OSError, TimeoutError) as exc:
                raise RespUnavailable(f"cannot connect to Redis: {exc}") from None
            self._protocol = protocol
            if self._password is not None:
                auth = (self._username, self._password) if self._username else (self._password,)
                await self.execute("AUTH", *auth)
            if self._db:
                await self.execute("SELECT", self._db)
            return protocol

    async def execute(self, *args: Any) -> Any:
        protocol = await self._connection()
        assert protocol.transport is not None  # noqa: S101 - connected
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        protocol.waiters.append(waiter)
        protocol.transport.write(encode(args))
        timer = loop.call_later(self._timeout, self._expire, protocol, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def _expire(self, protocol: _Protocol, waiter: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_exception(RespUnavailable("Redis did not answer in time"))
            protocol.close()  # replies may now be out of step: start over

    async def evalsha(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script by its digest, loading it first if Redis does not know it."""
        digest = self._scripts.get(source)
        if digest is None:
            digest = self._scripts[source] = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        try:
            return await self.execute("EVALSHA", digest, len(keys), *keys, *args)
        except RespError as exc:
            if "NOSCRIPT" not in str(exc):
                raise
            return await self.execute("EVAL", source, len(keys), *keys, *args)

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
