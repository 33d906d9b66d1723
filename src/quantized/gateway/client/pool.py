"""Keep-alive connections to one origin, through one proxy or none, at most ``limit`` of them.

Connections being opened, busy and idle all count against the limit. A request
that finds the origin full waits (first come, first served) for a connection to
come back or to close, at most the connect timeout, then fails with
``UpstreamTimeout(sent=False)``. A returned connection is handed straight to the
first waiter; a closed one hands its slot over, so no newcomer can jump the queue.

An idle connection the upstream closed (seen by the event loop as end of file,
a lost connection, or a closing transport) is dropped before anything is written
to it; the request goes to the next idle connection or a new one. Once a
request is written it is never written again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from quantized.gateway.client.connection import Connection
from quantized.gateway.client.errors import UpstreamError, UpstreamTimeout, UpstreamUnreachable
from quantized.gateway.client.origin import Origin
from quantized.gateway.client.proxy import Proxy
from quantized.gateway.client.response import Response
from quantized.gateway.client.tunnel import open_tunnel


class Pool:
    """The connections to one origin (through one proxy, or none)."""

    def __init__(
        self,
        origin: Origin,
        proxy: Proxy | None,
        *,
        ssl_context: ssl.SSLContext,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        max_response_bytes: int,
    ) -> None:
        self.origin = origin
        self.proxy = proxy
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_response_bytes = max_response_bytes
        self.limit = max_connections
        self.open = 0
        """Connections being opened, busy or idle (slots taken)."""
        self._ssl = ssl_context if origin.scheme == "https" else None
        self._idle: deque[Connection] = deque()
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._closed = False
        via = f" through the proxy {proxy.hostport}" if proxy is not None else ""
        self._where = origin.hostport + via

    @property
    def idle(self) -> int:
        """Idle connections still open, as far as the event loop knows."""
        return sum(1 for connection in self._idle if connection.usable())

    @property
    def waiting(self) -> int:
        """Requests waiting for the origin to have room."""
        return len(self._waiters)

    async def request(self, head: bytes, body: bytes) -> Response:
        """Write one request (with its ``Host``) once, and wait for the response head."""
        connection = None
        idle = self._idle
        while idle:
            candidate = idle.pop()
            if candidate.usable():
                connection = candidate
                break
            candidate.close()  # closed by the upstream while idle: nothing written to it
        if connection is None:
            connection = await self._acquire()
        try:
            return await connection.send(head, body)
        except asyncio.CancelledError:
            connection.close(abort=True)
            raise

    async def _acquire(self) -> Connection:
        """A new connection, or one handed over after waiting for the origin to have room."""
        deadline: float | None = None
        while True:
            if self._closed:
                raise UpstreamUnreachable("the upstream client is closed", sent=False)
            if self.open < self.limit:
                self.open += 1
                return await self._open_connection()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.connect_timeout
            handed = await self._wait(deadline)
            if handed is None:  # a slot, given up by a connection that closed
                return await self._open_connection()
            if handed.usable():
                return handed
            handed.close()  # died on its way here: its slot goes to the next in line

    async def _wait(self, deadline: float) -> Connection | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Connection | None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_at(deadline, self._expire, waiter)
        try:
            return await waiter
        except BaseException:
            self._withdraw(waiter)
            raise
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[Connection | None]) -> None:
        if not waiter.done():
            waiter.set_exception(
                UpstreamTimeout(
                    f"all {self.limit} connections to {self._where} stayed busy for "
                    f"{self.connect_timeout:g}s (upstream_max_connections)",
                    sent=False,
                )
            )

    def _withdraw(self, waiter: asyncio.Future[Connection | None]) -> None:
        """A waiter that left the queue (timed out, cancelled): give back what it was handed."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            handed = waiter.result()
            if handed is None:
                self.free_slot()
            else:
                self.release(handed, keep_alive=True)
            return
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    async def _open_connection(self) -> Connection:
        """Connect, using a slot already counted (given back if this fails)."""
        try:
            connection = await self._connect()
        except BaseException:
            self.free_slot()
            raise
        connection.owns_slot = True
        if not connection.usable():
            connection.close()
            raise UpstreamUnreachable(f"{self._where} closed a new connection", sent=False)
        return connection

    async def _connect(self) -> Connection:
        origin, proxy = self.origin, self.proxy
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if proxy is None:
                    _, connection = await loop.create_connection(
                        lambda: Connection(self),
                        origin.host,
                        origin.port,
                        ssl=self._ssl,
                        server_hostname=origin.host if self._ssl else None,
                    )
                    return connection
                if self._ssl is None:  # plain http through the proxy: absolute-form targets
                    try:
                        _, connection = await loop.create_connection(
                            lambda: Connection(self), proxy.host, proxy.port
                        )
                    except OSError as exc:
                        raise UpstreamUnreachable(
                            f"cannot connect to the proxy {proxy.hostport}: {exc.strerror or exc}",
                            sent=False,
                        ) from None
                    return connection
                return await self._tunnel(proxy, self._ssl)
        except TimeoutError:
            raise UpstreamTimeout(
                f"no connection to {self._where} within {self.connect_timeout:g}s", sent=False
            ) from None
        except UpstreamError:
            raise
        except OSError as exc:  # ssl.SSLError included
            raise UpstreamUnreachable(
                f"cannot connect to {self._where}: {exc.strerror or exc}", sent=False
            ) from None

    async def _tunnel(self, proxy: Proxy, context: ssl.SSLContext) -> Connection:
        """TLS to the upstream inside a CONNECT tunnel, checked against the upstream's name."""
        transport = await open_tunnel(proxy, self.origin)
        connection = Connection(self)
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport, connection, context, server_hostname=self.origin.host
            )
        except BaseException:
            transport.abort()
            raise
        if tls is None:  # pragma: no cover - only for transports without TLS support
            transport.abort()
            raise UpstreamUnreachable(f"no TLS through {self._where}", sent=False)
        connection.connection_made(tls)
        return connection

    def release(self, connection: Connection, keep_alive: bool) -> None:
        """A connection whose response was read to the end: to the next waiter, or idle."""
        if not keep_alive or self._closed or not connection.usable():
            connection.close()
            return
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        idle = self._idle
        while idle and idle[0].closed:  # the oldest ones die first: forget them
            idle.popleft()
        idle.append(connection)

    def free_slot(self) -> None:
        """A connection closed (or failed to open): its slot to the next waiter, or free."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.open -= 1

    def close(self) -> None:
        """Close idle connections and refuse new requests; busy ones close when released."""
        self._closed = True
        while self._idle:
            self._idle.pop().close(abort=True)  # no TLS goodbye: the process is stopping
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(
                    UpstreamUnreachable("the upstream client is closed", sent=False)
                )
