"""HTTP/1.1 for Quantized: uvicorn's httptools protocol with limits on every route.

- a connection must send a request's headers within ``header_timeout`` seconds
  of its first byte (or of connecting): idle and slowloris connections are closed
  (with 408 if part of a request came); idle keep-alive connections are closed
  after ``keepalive_timeout`` (uvicorn's own timer);
- past ``max_connections`` open connections, a new one is answered 503 and closed
  at once, instead of waiting unanswered in the accept queue;
- a request head over ``MAX_URL_BYTES`` gets 414, over ``MAX_HEAD_BYTES`` or
  ``MAX_HEADERS`` headers 431; a body over ``max_body_bytes`` gets 413 — a
  declared one before anything is read and without ``100 Continue``;
- a client that half-closes after pipelining requests still gets every answer,
  then the connection is closed.

Connections start on :class:`~quantized.server.fast.FastProtocol`, which answers
the ``/v1/models`` routes itself and hands the connection over here at the first
other request. The limits rely on a few uvicorn internals (``internals``): they
are checked once, and if one is missing the limits that need it are left to
uvicorn (logged), so requests are still served.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from quantized.api.boundary import RequestIds
from quantized.api.errors import protocol_reply, shape_of_path
from quantized.server.internals import missing_internals
from quantized.server.limits import MAX_HEAD_BYTES, MAX_HEADERS, MAX_URL_BYTES
from quantized.server.replies import ReplyWriter
from quantized.settings import Settings

if TYPE_CHECKING:
    from quantized.app import QuantizedApp

log = logging.getLogger("quantized.server")


class _Rejected(Exception):  # noqa: N818 - a signal to stop the parser
    """Raised inside a parser callback once the request was answered and the connection closed."""


def find_app(app: Any) -> QuantizedApp | None:
    """Our app, under whatever middleware uvicorn wrapped around it."""
    from quantized.app import QuantizedApp

    for _ in range(8):
        if isinstance(app, QuantizedApp):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class QuantizedProtocol(HttpToolsProtocol):
    internals_ok: ClassVar[bool | None] = None
    """Whether uvicorn has everything this protocol relies on (checked once)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if QuantizedProtocol.internals_ok is None:
            missing = missing_internals(self)
            QuantizedProtocol.internals_ok = not missing
            if missing:
                log.warning(
                    "this uvicorn lacks internals Quantized's limits use (%s): the header "
                    "timeout and body limits are left to uvicorn",
                    ", ".join(missing),
                )
        app = find_app(self.app)
        settings = app.runtime.settings if app is not None else Settings()
        self._guarded = bool(QuantizedProtocol.internals_ok)
        self._app = app
        self._ids = app.boundary.ids if app is not None else RequestIds()
        self._writer = ReplyWriter(server_state)
        self._metrics = app.runtime.metrics if app is not None else None
        self._max_body = settings.max_body_bytes
        self._header_timeout = settings.header_timeout
        self._keepalive_timeout = settings.keepalive_timeout
        self._deadlines = app.deadlines if app is not None and self._guarded else None
        self.deadline: float | None = None
        """When the current wait (for a request's headers, or the next request) ends."""
        self._waiting_for = "headers"
        self._max_connections = app.max_connections if app is not None else 0
        self._head_bytes = 0
        self._body_bytes = 0
        self._partial = False
        """Whether part of a request arrived (its headers not complete yet)."""
        self._rejected = False
        self._eof = False

    # Connections: capacity, header timeout, half-close ----------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._max_connections and len(self.connections) > self._max_connections:
            self._reject(503, "The server is at its connection limit; try again shortly.")
            return
        if self._deadlines is not None:
            self._deadlines.watch(self)
            self._wait("headers", self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadlines is not None:
            self._deadlines.forget(self)
        super().connection_lost(exc)

    def _wait(self, what: str, seconds: float) -> None:
        assert self._deadlines is not None  # noqa: S101 - only called when there are some
        self._waiting_for = what
        self.deadline = self._deadlines.due(seconds)

    def expired(self) -> None:
        """The deadline passed: headers too slow (408, or silence: closed), or idle too long."""
        if self.transport.is_closing():
            return
        if self._waiting_for == "headers" and self._partial:
            self._reject(408, f"Request headers not received within {self._header_timeout:g}s.")
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self._rejected:
            super().data_received(data)

    def eof_received(self) -> bool:  # type: ignore[override]
        """The client will send nothing more: answer the requests it sent, then close.

        During a response already under way (a stream) the client may as well be gone:
        the connection closes, so the route stops reading its upstream.
        """
        self._eof = True
        if (
            self.cycle is not None
            and self.cycle.response_started
            and not self.cycle.response_complete
        ):
            return False
        self._close_if_done()
        return True  # keep the transport open for the answers still to come

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._close_if_done()

    def _close_if_done(self) -> None:
        if (
            self._eof
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not self.transport.is_closing()
        ):
            self.transport.close()

    # Bounded requests ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._body_bytes = 0
        self._partial = True
        if self._deadlines is not None:
            self._wait("headers", self._header_timeout)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._stop(414, f"Request URL longer than {MAX_URL_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES or len(self.headers) > MAX_HEADERS:
            self._stop(
                431,
                f"Request headers too large (limit {MAX_HEAD_BYTES} bytes, {MAX_HEADERS} headers).",
            )

    def _stop(self, status: int, message: str) -> None:
        """Answer now; raising stops the parser, and uvicorn's 400 handler then finds us done."""
        self._reject(status, message)
        raise _Rejected(message)

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: an OpenAI-shaped 400, then close (no-op if already rejected)."""
        self._reject(400, "Invalid HTTP request.")

    def _reject(self, status: int, message: str) -> None:
        if self._rejected or self.transport.is_closing():
            return
        self._rejected = True
        self.deadline = None
        codes = {408: "request_timeout", 413: "payload_too_large", 503: "server_busy"}
        code = codes.get(status, "request_too_large" if status in (414, 431) else "invalid_http")
        shape = shape_of_path(getattr(self, "url", b"") or b"")
        request_id = self._ids()
        status, headers, body = protocol_reply(status, message, code, shape=shape)
        if shape.request_id_header is not None:  # the writer adds x-request-id
            headers = [*headers, (shape.request_id_header, request_id)]
        self._writer.write(self.transport, (status, headers, body), request_id, close=True)
        self.transport.close()
        if self._metrics is not None:
            self._metrics.rejected(status)

    def _declared_too_large(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                return not value.isdigit() or len(value) > 18 or int(value) > self._max_body
        return False

    # The request's body ----------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self.deadline = None
        self._partial = False
        if self._guarded and self._declared_too_large():
            self._stop(413, f"Request body over {self._max_body} bytes.")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._max_body and self._guarded:
            cycle = self.cycle
            if cycle is None:
                self._stop(413, f"Request body over {self._max_body} bytes.")
            elif cycle.response_complete:  # answered already: read no more of it
                self.transport.close()
                raise _Rejected("body over the limit")
            # otherwise the route reading it refuses it (413) at the same limit
        super().on_body(body)
