"""The error boundary every request passes through, and the ids that name requests.

:class:`Boundary` wraps each endpoint (the raw model routes, the models routes'
ASGI path, the framework routes): it gives the request an id, adds
``x-request-id`` to whatever the endpoint answers, and turns anything the
endpoint raises into an answer in the endpoint's error shape — a domain error
by :func:`~quantized.api.errors.error_reply`, anything else as a 500 whose
traceback goes to the log only. The HTTP protocol's fast path, which answers
without an ASGI task, applies the same rules itself (``quantized.server.protocol``).
"""

from __future__ import annotations

import itertools
import logging
import secrets

from starlette.exceptions import HTTPException

from quantized.api.asgi import ASGIApp, Message, Receive, Scope, Send, send_reply
from quantized.api.errors import (
    OPENAI,
    ErrorShape,
    Reply,
    error_reply,
    internal_reply,
    request_id_headers,
)
from quantized.errors import MethodNotAllowedError, NotFoundError, QuantizedError

REQUEST_ID = "quantized.request_id"
"""The scope key under which an endpoint finds its request's id (bytes)."""

log = logging.getLogger("quantized.api")


class RequestIds:
    """``req_`` + 12 random hex digits per process + a counter: unique, cheap, sortable."""

    __slots__ = ("_prefix", "_count")

    def __init__(self) -> None:
        self._prefix = b"req_" + secrets.token_hex(6).encode()
        self._count = itertools.count(1)

    def __call__(self) -> bytes:
        return b"%s%08x" % (self._prefix, next(self._count))


def as_domain_error(exc: HTTPException, scope: Scope) -> QuantizedError | None:
    """The router's own 404 and 405 as domain errors (other statuses are not raised here)."""
    where = f"{scope.get('method', '')} {scope.get('path', '')}"[:300]
    if exc.status_code == 404:
        return NotFoundError(f"Unknown path: {where}", code="unknown_path")
    if exc.status_code == 405:
        allow = tuple((exc.headers or {}).get("Allow", "GET").split(", "))
        return MethodNotAllowedError(f"Method not allowed: {where}", allow=allow)
    return None


class Boundary:
    def __init__(self, ids: RequestIds) -> None:
        self.ids = ids

    def unexpected(self, exc: BaseException, request_id: bytes, shape: ErrorShape) -> Reply:
        self.report(exc, request_id)
        return internal_reply(shape, request_id=request_id)

    @staticmethod
    def report(exc: BaseException, request_id: bytes) -> None:
        """Log a failure with its traceback, under the id its answer carries."""
        log.error("unhandled error in request %s", request_id.decode(), exc_info=exc)

    async def __call__(
        self,
        endpoint: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        shape: ErrorShape = OPENAI,
    ) -> None:
        request_id = scope[REQUEST_ID] = self.ids()
        started = False
        ids = request_id_headers(shape, request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), *ids]
            await send(message)

        try:
            await endpoint(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the boundary: every failure gets an answer
            error = as_domain_error(exc, scope) if isinstance(exc, HTTPException) else exc
            if started:  # too late for an error answer: the server closes the connection
                log.error(
                    "request %s failed after its answer started", request_id.decode(), exc_info=exc
                )
                return
            if isinstance(error, QuantizedError):
                reply = error_reply(error, shape, request_id=request_id)
            else:
                reply = self.unexpected(exc, request_id, shape)
            await send_reply(send, reply)
