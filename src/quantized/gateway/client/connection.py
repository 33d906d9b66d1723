"""One keep-alive HTTP/1.1 connection to an upstream.

A connection carries one request at a time. It is idle (in its pool) or busy
(between :meth:`Connection.send` and the end of the response body, when it goes
back to its pool). Bytes that arrive while it is idle, or after a complete
response, make it unusable: it is closed. Every error raised once a request was
written has ``sent=True``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

import httptools

from quantized.gateway.client.errors import UpstreamTimeout, UpstreamUnreachable
from quantized.gateway.client.response import Headers, Response

if TYPE_CHECKING:
    from quantized.gateway.client.pool import Pool


class _Unexpected(Exception):
    """A response nobody asked for (raised inside the parser, caught in data_received)."""


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: Headers = []
        self._head: asyncio.Future[Response] | None = None  # set while busy
        self._chunks: deque[bytes] = deque()
        self._more: asyncio.Future[None] | None = None
        self._complete = False
        self._informational = False
        self._error: BaseException | None = None
        self._paused = False
        self._keep_alive = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self.closed = False
        self.owns_slot = False
        """Counted in the pool's connections; given back once, when closed."""

    def usable(self) -> bool:
        """Not closed by either side, as far as the event loop knows: nothing sent yet."""
        transport = self._transport
        return not self.closed and transport is not None and not transport.is_closing()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        self._last_activity = self._loop.time()
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if self._head is not None and not self._complete:
                self._fail(
                    UpstreamUnreachable(
                        f"malformed response from {self.pool.origin.hostport}: {exc}", sent=True
                    )
                )
            self.close(abort=True)

    def eof_received(self) -> bool | None:
        self.closed = True
        return None  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        self._give_back_slot()
        if self._head is None or self._complete:
            return
        if self._error is None and self._head.done() and self._until_eof():
            self._complete = True  # a body delimited by the end of the connection
            self._keep_alive = False
            self._wake()
            return
        self._fail(
            UpstreamUnreachable(
                f"{self.pool.origin.hostport} closed the connection before the response "
                "was complete",
                sent=True,
            )
        )

    def _until_eof(self) -> bool:
        names = {name for name, _ in self._headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # the read timeout: one timer per response, re-armed only when it fires early
    def _arm(self) -> None:
        self._last_activity = self._loop.time()
        self._timer = self._loop.call_later(self.pool.read_timeout, self._check_timeout)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_timeout(self) -> None:
        timeout = self.pool.read_timeout
        idle = self._loop.time() - self._last_activity
        if idle < timeout:
            self._timer = self._loop.call_later(timeout - idle, self._check_timeout)
            return
        self._timer = None
        message = f"no response bytes from {self.pool.origin.hostport} within {timeout:g}s"
        self._fail(UpstreamTimeout(message, sent=True))
        self.close(abort=True)

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self._head is None or self._complete:
            raise _Unexpected  # bytes while idle, or after the response: unusable

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 1xx: informational, the real response follows
            self._informational = True
            self._headers = []
            return
        self._keep_alive = self._parser.should_keep_alive()  # only valid during the message
        head = self._head
        if head is not None and not head.done():
            head.set_result(Response(status, self._headers, self))

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._wake()
        if len(self._chunks) > 64 and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete = True
        self._disarm()
        self._wake()

    # the request
    def send(self, head: bytes, body: bytes) -> asyncio.Future[Response]:
        """Write one request (never twice); its response head arrives in the future."""
        transport = self._transport
        assert transport is not None  # noqa: S101 - connected before use
        self._headers = []
        self._complete = False
        self._error = None
        self._head = head_future = self._loop.create_future()
        self._arm()
        transport.writelines((head, body))  # no copy of the body (uvloop: one writev)
        return head_future

    async def next_chunk(self) -> bytes | None:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                if self._paused and len(self._chunks) < 16 and self._transport is not None:
                    self._paused = False
                    self._transport.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self._complete:
                self._head = None
                self.pool.release(self, self._keep_alive)
                return None
            self._more = self._loop.create_future()
            try:
                await self._more
            except asyncio.CancelledError:
                self.close(abort=True)  # a half-read response cannot be resumed
                raise
            finally:
                self._more = None

    def _wake(self) -> None:
        more = self._more
        if more is not None and not more.done():
            more.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._error is not None:
            return  # the first failure is the one to report
        self._error = error
        head = self._head
        if head is not None and not head.done():
            head.set_exception(error)
        self._wake()

    def _give_back_slot(self) -> None:
        if self.owns_slot:
            self.owns_slot = False
            self.pool.free_slot()

    def close(self, *, abort: bool = False) -> None:
        self.closed = True
        self._disarm()
        self._give_back_slot()
        if self._head is not None and not self._complete:
            where = self.pool.origin.hostport
            self._fail(UpstreamUnreachable(f"the connection to {where} was dropped", sent=True))
        transport = self._transport
        if transport is None:
            return
        if abort:
            transport.abort()
        else:
            transport.close()
