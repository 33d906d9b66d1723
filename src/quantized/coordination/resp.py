"""A small pipelined Redis client for the per-request commands.

Rate limits and spend touch Redis on every chat request, and a general-purpose
client spends well over 100 µs a command on pools, retries and timeouts. This
one keeps a single connection (TCP, TLS or a Unix socket), queues the commands
asked for during one event-loop iteration and writes them together (one system
call for all of them), and matches replies in order with hiredis's parser.

Failures, told apart because they mean different things:

- :class:`RespError`: Redis answered with an error (``OOM``, ``WRONGTYPE``, a
  script error…). The connection is fine.
- :class:`RespClosed`: the peer closed or reset the connection (Redis
  restarted, a proxy dropped it). A command that meets this is sent once more
  on a new connection; only a failure there is reported.
- :class:`RespTimeout`: no reply in time. The connection is closed (replies may
  now be out of step) and the command is not retried: its effect is unknown.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis

from quantized.coordination.address import RedisAddress, parse_redis_url


class RespError(Exception):
    """Redis answered with an error."""


class RespUnavailable(Exception):  # noqa: N818 - a state, as RedisDown
    """No connection, or no reply within the timeout."""


class RespClosed(RespUnavailable):
    """The connection was closed or reset by the other side."""


class RespTimeout(RespUnavailable):
    """No reply within the timeout."""


_HEADS = 10_000
"""Script calls whose encoded start (digest and keys) is kept."""


def encode(args: Sequence[Any]) -> bytes:
    """A command as Redis reads it: an array of bulk strings."""
    return b"*%d\r\n" % len(args) + encode_items(args)


def encode_items(args: Sequence[Any]) -> bytes:
    parts = []
    for arg in args:
        kind = type(arg)
        data = arg.encode() if kind is str else arg if kind is bytes else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    """One connection: commands queued per loop iteration, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.reader = hiredis.Reader(replyError=RespError)
        self.waiters: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._outgoing: list[bytes] = []
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, payload: bytes) -> asyncio.Future[Any]:
        waiter: asyncio.Future[Any] = self.loop.create_future()
        if self.closed:
            waiter.set_exception(RespClosed("the Redis connection closed"))
            return waiter
        deadline = self.loop.time() + self.timeout
        self.waiters.append((waiter, deadline))
        if not self._outgoing:
            self.loop.call_soon(self._flush)
        self._outgoing.append(payload)
        if self._watchdog is None:
            self._watchdog = self.loop.call_at(deadline, self._check)
        return waiter

    def _flush(self) -> None:
        if self.closed or self.transport is None:
            self._outgoing.clear()  # connection_lost already failed their waiters
            return
        data = self._outgoing[0] if len(self._outgoing) == 1 else b"".join(self._outgoing)
        self._outgoing.clear()
        self.transport.write(data)

    def _check(self) -> None:
        """The oldest command is the first to run out of time (replies come in order)."""
        self._watchdog = None
        if not self.waiters:
            return
        deadline = self.waiters[0][1]
        if deadline <= self.loop.time():
            self.close(RespTimeout("Redis did not answer in time"))
        else:
            self._watchdog = self.loop.call_at(deadline, self._check)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiters = self.waiters
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError:
                self.close(RespUnavailable("Redis sent something that is not RESP"))
                return
            if reply is False:
                break
            if not waiters:
                continue
            waiter = waiters.popleft()[0]
            if waiter.done():  # its caller gave up
                continue
            if isinstance(reply, RespError):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)
        if not waiters and self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f" ({type(exc).__name__})" if exc is not None else ""
        self._fail(RespClosed(f"the Redis connection was closed{reason}"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self.waiters:
            waiter = self.waiters.popleft()[0]
            if not waiter.done():
                waiter.set_exception(error)

    def close(self, error: Exception | None = None) -> None:
        self._fail(error or RespUnavailable("the Redis client was closed"))
        if self.transport is not None:
            self.transport.close()


class RespClient:
    def __init__(self, address: RedisAddress | str, timeout: float) -> None:
        self._address = parse_redis_url(address) if isinstance(address, str) else address
        self._ssl = self._address.ssl_context()
        self._timeout = timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._heads: dict[tuple[str, ...], bytes] = {}
        self._closed = False

    async def _connect(self) -> _Connection:
        if self._closed:
            raise RespUnavailable("the Redis client was closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            current = self._connection
            if current is not None and not current.closed:
                return current  # another command opened it meanwhile
            self._connection = await self._open()
            return self._connection

    async def _open(self) -> _Connection:
        address, loop = self._address, asyncio.get_running_loop()

        def factory() -> _Connection:
            return _Connection(loop, self._timeout)

        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self._timeout * 4):
                if address.path is not None:
                    _, connection = await loop.create_unix_connection(factory, address.path)
                else:
                    _, connection = await loop.create_connection(
                        factory, address.host, address.port, ssl=self._ssl
                    )
                if address.password is not None:
                    credentials = (address.username, address.password)
                    await connection.send(encode(("AUTH", *filter(None, credentials))))
                if address.db:
                    await connection.send(encode(("SELECT", address.db)))
        except (OSError, TimeoutError, RespUnavailable, RespError) as exc:
            if connection is not None:
                connection.close()
            raise RespUnavailable(f"cannot connect to Redis: {_reason(exc)}") from None
        return connection

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (``RespError`` for an error reply)."""
        return await self._call(encode(args))

    async def _call(self, payload: bytes) -> Any:
        connection = self._connection
        if connection is None or connection.closed:
            connection = await self._connect()
        try:
            return await connection.send(payload)
        except RespClosed:
            # The connection was found dead (typically opened before Redis restarted):
            # once more on a fresh one. Never after a timeout, whose effect is unknown.
            return await (await self._connect()).send(payload)

    async def evalsha(self, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a Lua script by its digest, loading it first if Redis does not know it."""
        head = self._heads.get((source, *keys))
        if head is None:
            digest = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
            if len(self._heads) >= _HEADS:
                self._heads.clear()
            head = self._heads[(source, *keys)] = encode_items(
                ("EVALSHA", digest, len(keys), *keys)
            )
        try:
            count = 3 + len(keys) + len(args)
            return await self._call(b"*%d\r\n" % count + head + encode_items(args))
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await self.execute("EVAL", source, len(keys), *keys, *args)

    def close(self) -> None:
        self._closed = True
        if self._connection is not None:
            self._connection.close()


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
