"""The models routes on a protocol of their own; every other request goes to uvicorn's.

``GET``/``HEAD`` of ``/v1/models`` and ``/v1/models/{id}`` are most of a gateway's
requests and the cheapest to answer: the catalog rendered their bytes already.
Through uvicorn's protocol such a request costs about three times what parsing
it and writing the answer cost (a scope per request, a chain of callbacks, flow
control for tasks it does not start). So each connection starts on this small
protocol. It takes complete request heads from the socket; a head it can answer
alone — ``GET`` or ``HEAD`` of a models path, no body, no ``Expect``, no
upgrade — it parses with httptools and answers from
:meth:`~quantized.api.models.ModelsEndpoint.respond`, in order, as pipelined
requests come. At the first request it does not answer, it hands the connection
(and every byte not yet answered) to :class:`~quantized.server.protocol.QuantizedProtocol`
for good: the hand-off uses nothing but the protocol interface of asyncio.

It keeps the same limits: the connection cap (503), the header timeout (408, or
closed when nothing came) and keep-alive timeout (by :mod:`~quantized.server.deadlines`),
414 for a request line over 8 KiB and 431 for a head over 64 KiB or 128 headers,
400 for malformed HTTP, every answer with ``x-request-id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from quantized.api.boundary import Boundary
from quantized.api.errors import OPENAI, internal_reply, protocol_reply
from quantized.api.models import is_models_path, route_template
from quantized.auth.index import KeyIndex
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.server.limits import MAX_HEAD_BYTES, MAX_HEADERS, MAX_URL_BYTES
from quantized.server.protocol import QuantizedProtocol, find_app
from quantized.server.replies import ReplyWriter

if TYPE_CHECKING:
    from quantized.app import QuantizedApp

log = logging.getLogger("quantized.server")


_NOT_ALONE = frozenset((b"content-length", b"transfer-encoding", b"expect", b"upgrade"))
"""Headers that make a request more than this protocol answers (it has no body to read)."""


class FastProtocol(asyncio.Protocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        app = find_app(config.loaded_app)
        if app is None:
            raise RuntimeError("FastProtocol serves Quantized's app only")
        self._arguments = (config, server_state, app_state, _loop)
        self._app: QuantizedApp = app
        self._endpoint = app.models
        self._ids = app.boundary.ids
        self._deadlines = app.deadlines
        self._state = server_state
        settings = app.runtime.settings
        self._header_timeout = settings.header_timeout
        self._keepalive_timeout = settings.keepalive_timeout
        self._max_connections = app.max_connections
        self._transport: asyncio.Transport = None  # type: ignore[assignment]  # connected soon
        self._parser = httptools.HttpRequestParser(self)
        self._buffer = b""
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._keep_alive = True
        self._alone = True
        self._known: tuple[bytes | None, Principal, KeyIndex, int, float] | None = None
        self._closed = False
        self._writer = ReplyWriter(server_state, app.models.header_block)
        self._metrics = app.runtime.metrics
        self.deadline: float | None = None

    # asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport
        self._state.connections.add(self)  # type: ignore[arg-type]  # uvicorn asks us to shut down
        if self._max_connections and len(self._state.connections) > self._max_connections:
            self._reject(503, "The server is at its connection limit; try again shortly.")
            return
        self._deadlines.watch(self)
        self.deadline = self._deadlines.due(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._state.connections.discard(self)
        self._deadlines.forget(self)

    def eof_received(self) -> bool:
        return False  # every complete request was answered already: close

    def pause_writing(self) -> None:
        self._transport.pause_reading()  # read no more requests until answers go out

    def resume_writing(self) -> None:
        if not self._closed:
            self._transport.resume_reading()

    def shutdown(self) -> None:
        """Graceful shutdown (uvicorn calls it): nothing is in flight here, so close."""
        self._close()

    def expired(self) -> None:
        """The header or keep-alive wait ran out."""
        if self._buffer:
            self._reject(408, f"Request headers not received within {self._header_timeout:g}s.")
        else:
            self._close()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._incomplete(buffer)
                return
            head, buffer = buffer[: end + 4], buffer[end + 4 :]
            if not self._answer(head, buffer):
                return  # closed, or handed off with the rest
            if not buffer:
                self._buffer = b""
                self.deadline = self._deadlines.due(self._keepalive_timeout)
                return

    # Requests ---------------------------------------------------------------------------

    def _incomplete(self, buffer: bytes) -> None:
        """Part of a request head: wait for the rest, within the limits."""
        if not self._buffer:  # a new request began: it has the header timeout from now
            self.deadline = self._deadlines.due(self._header_timeout)
        self._buffer = buffer
        line = buffer.find(b"\r\n")
        if (line < 0 and len(buffer) > MAX_URL_BYTES) or line > MAX_URL_BYTES:
            self._reject(414, f"Request URL longer than {MAX_URL_BYTES} bytes.")
        elif len(buffer) > MAX_HEAD_BYTES:
            self._reject(431, f"Request headers too large (limit {MAX_HEAD_BYTES} bytes).")

    def _answer(self, head: bytes, rest: bytes) -> bool:
        """Answer one complete head, or hand the connection on; return whether to go on."""
        line = head[: head.find(b"\r\n")]
        if not line.startswith((b"GET /v1/models", b"HEAD /v1/models")):
            self._hand_off(head + rest)
            return False
        if len(line) > MAX_URL_BYTES + 16:
            self._reject(414, f"Request URL longer than {MAX_URL_BYTES} bytes.")
            return False
        self._headers = []
        try:
            self._parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            self._alone = False
        except httptools.HttpParserError:
            self._reject(400, "Invalid HTTP request.")
            return False
        if not self._alone:  # a body to read, an Expect or an upgrade: not for this protocol
            self._hand_off(head + rest)
            return False
        if len(head) > MAX_HEAD_BYTES or len(self._headers) > MAX_HEADERS:
            self._reject(
                431,
                f"Request headers too large (limit {MAX_HEAD_BYTES} bytes, {MAX_HEADERS} headers).",
            )
            return False
        raw_path, query = self._url, b""
        if b"?" in raw_path or b"%" in raw_path or b"#" in raw_path:
            url = httptools.parse_url(raw_path)
            raw_path, query = url.path, url.query or b""
        path = raw_path.decode("ascii", "replace")
        if "%" in path:
            path = unquote(path)
        if not is_models_path(path):
            self._hand_off(head + rest)
            return False
        method = "GET" if line[0] == 71 else "HEAD"  # b"G"
        clock = time.perf_counter()
        request_id = self._ids()
        try:
            reply = self._endpoint.respond(
                method, path, query, self._headers, caller=self._caller, request_id=request_id
            )
        except RefreshRequired:  # needs I/O first: the ASGI path awaits it
            self._hand_off(head + rest)
            return False
        except Exception as exc:  # noqa: BLE001 - the boundary, as on the ASGI path
            Boundary.report(exc, request_id)
            reply = internal_reply(OPENAI)
        keep_alive = self._keep_alive
        self._writer.write(self._transport, reply, request_id, close=not keep_alive)
        self._state.total_requests += 1
        if self._metrics is not None:
            self._metrics.http(route_template(path), method, reply[0], time.perf_counter() - clock)
        if not keep_alive:
            self._close()
            return False
        return True

    def _caller(self, authorization: bytes | None) -> Principal:
        """Who sent ``authorization``: as for this connection's last request, when the header
        is the same, no key changed since and the deadline sweep has not ticked (at most a
        second: an expiry may be noticed that much late); else asked of the authenticator."""
        known, auth = self._known, self._app.runtime.state.auth
        keys, tick = auth.keys, self._deadlines.now
        if (
            known is not None
            and known[0] == authorization
            and known[2] is keys
            and known[3] == keys.version
            and known[4] == tick
        ):
            return known[1]
        principal = auth.authenticate(authorization, time.time())
        self._known = (authorization, principal, keys, keys.version, tick)
        return principal

    # httptools callbacks (one complete head at a time)
    def on_message_begin(self) -> None:
        self._url = b""
        self._alone = True

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _NOT_ALONE:
            self._alone = False
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser  # (keep-alive is known only while the message is parsed)
        self._keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()

    # Hand-off and answers ---------------------------------------------------------------

    def _hand_off(self, data: bytes) -> None:
        """Give the connection, and ``data`` (not answered yet), to the full protocol."""
        self._state.connections.discard(self)
        self._deadlines.forget(self)
        self._buffer = b""
        protocol = QuantizedProtocol(*self._arguments)
        self._transport.set_protocol(protocol)
        protocol.connection_made(self._transport)
        if data:
            protocol.data_received(data)

    def _reject(self, status: int, message: str) -> None:
        codes = {408: "request_timeout", 503: "server_busy", 400: "invalid_http"}
        reply = protocol_reply(status, message, codes.get(status, "request_too_large"))
        self._writer.write(self._transport, reply, self._ids(), close=True)
        if self._metrics is not None:
            self._metrics.rejected(status)
        self._close()

    def _close(self) -> None:
        self._buffer = b""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
