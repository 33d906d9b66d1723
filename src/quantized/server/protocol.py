"""HTTP/1.1 for Quantized: uvicorn's httptools protocol with a synchronous fast path.

An ASGI request costs a task, an event and a dozen message dicts; for the
``/v1/models`` routes that is most of the work. This protocol answers those
routes inside the parser callback instead, writing the bytes
:meth:`ModelsEndpoint.respond` returns straight to the socket. It steps aside
(and lets uvicorn run the ASGI app as usual) whenever the fast path could
change behaviour: an earlier response on the connection still in flight, a
paused writer, ``Expect: 100-continue``, an upgrade, or access logging.

It also bounds the request head, which httptools does not: a URL over
``MAX_URL_BYTES`` gets 414 and a header block over ``MAX_HEAD_BYTES`` or
``MAX_HEADERS`` headers gets 431, in the OpenAI error shape, and the
connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from quantized.api.boundary import RequestIds
from quantized.api.errors import OPENAI, Reply, protocol_reply
from quantized.api.models import is_models_path
from quantized.auth.refresh import RefreshRequired

if TYPE_CHECKING:
    from quantized.app import QuantizedApp

MAX_URL_BYTES = 8 * 1024
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 128


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing a head that is over the limits."""


def _find_app(app: Any) -> QuantizedApp | None:
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
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._quantized = _find_app(self.app)
        self._ids = self._quantized.boundary.ids if self._quantized is not None else RequestIds()
        self._endpoint = (
            self._quantized.models if self._quantized is not None and not self.access_log else None
        )
        self._reply: Reply | None = None
        self._keep_alive = True
        self._head_bytes = 0
        self._rejected = False
        self._defaults_source: object = None
        self._defaults = b""

    # Bounded request heads -------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reply = None
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._too_large(414, f"Request URL longer than {MAX_URL_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES or len(self.headers) > MAX_HEADERS:
            self._too_large(
                431,
                f"Request headers too large (limit {MAX_HEAD_BYTES} bytes, {MAX_HEADERS} headers).",
            )

    def _too_large(self, status: int, message: str) -> None:
        """Answer now; raising stops the parser, and uvicorn's 400 handler then finds us done."""
        self._reject(status, message)
        raise _HeadTooLarge(message)

    def data_received(self, data: bytes) -> None:
        if not self._rejected:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: an OpenAI-shaped 400, then close (no-op if already rejected)."""
        self._reject(400, "Invalid HTTP request.")

    def _reject(self, status: int, message: str) -> None:
        if self._rejected or self.transport.is_closing():
            return
        self._rejected = True
        code = "request_too_large" if status in (414, 431) else "invalid_http"
        status, headers, body = protocol_reply(status, message, code)
        head = [STATUS_LINE[status], self._default_headers()]
        head.extend(name + b": " + value + b"\r\n" for name, value in headers)
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    # The fast path ---------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        endpoint = self._endpoint
        if (
            endpoint is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not self.expect_100_continue
            and not self.flow.write_paused
        ):
            method = self.parser.get_method()
            if method == b"GET" or method == b"HEAD":
                url = httptools.parse_url(self.url)
                path = url.path.decode("ascii", "replace")
                if "%" in path:
                    path = unquote(path)
                if is_models_path(path):
                    try:
                        self._reply = endpoint.respond(
                            method.decode(), path, url.query or b"", self.headers
                        )
                    except RefreshRequired:  # needs I/O: let the ASGI path await it
                        super().on_headers_complete()
                        return
                    except Exception as exc:  # noqa: BLE001 - the boundary, as on the ASGI path
                        assert self._quantized is not None  # noqa: S101 - an endpoint implies it
                        boundary = self._quantized.boundary
                        self._reply = boundary.unexpected(exc, boundary.ids(), OPENAI)
                    self._keep_alive = (
                        self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                    )
                    return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._reply is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        reply = self._reply
        if reply is None:
            super().on_message_complete()
            return
        self._reply = None
        status, headers, body = reply
        head = [STATUS_LINE[status], self._default_headers()]
        head.extend(name + b": " + value + b"\r\n" for name, value in headers)
        if status != 500:  # a 500 carries the id its log line names
            head.append(b"x-request-id: " + self._ids() + b"\r\n")
        head.append(b"\r\n" if self._keep_alive else b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.server_state.total_requests += 1
        self._unset_keepalive_if_required()
        if not self._keep_alive:
            self.transport.close()
        else:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def _default_headers(self) -> bytes:
        """``date`` and ``server`` as uvicorn refreshes them each second, serialised once."""
        source = self.server_state.default_headers
        if source is not self._defaults_source:
            self._defaults_source = source
            self._defaults = b"".join(name + b": " + value + b"\r\n" for name, value in source)
        return self._defaults
