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
import time
from typing import TYPE_CHECKING

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
from quantized.observability.logs import REQUEST_ID_VAR

if TYPE_CHECKING:
    from quantized.observability.metrics import Metrics

REQUEST_ID = "quantized.request_id"
"""The scope key under which an endpoint finds its request's id (bytes)."""
ROUTE = "quantized.route"
"""The scope key where the framework's router leaves the matched route's template."""
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

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


def method_label(method: str) -> str:
    """The method as a metrics label: one of the usual ones, or ``other`` (never raw input)."""
    return method if method in METHODS else "other"


class Boundary:
    """Also counts every request it passes (route template, method, status, duration)."""

    def __init__(self, ids: RequestIds, metrics: Metrics | None = None) -> None:
        self.ids = ids
        self.metrics = metrics

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
        route: str | None = None,
    ) -> None:
        """Run the endpoint within the boundary, and count it under ``route`` (the template;
        the router's match if not given, ``(unmatched)`` if nothing matched)."""
        clock = time.perf_counter()
        metrics = self.metrics
        if metrics is not None:
            metrics.active += 1
        request_id = scope[REQUEST_ID] = self.ids()
        logged_as = REQUEST_ID_VAR.set(request_id)  # every line logged meanwhile carries it
        started = False
        status = 500
        ids = request_id_headers(shape, request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *ids]
            await send(message)

        try:
            await endpoint(scope, receive, send_with_id)
            if not started:  # the endpoint found the client gone before it could answer
                status = 499
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
            status = reply[0]
            await send_reply(send, reply)
        finally:
            REQUEST_ID_VAR.reset(logged_as)
            if metrics is not None:
                metrics.active -= 1
                metrics.http(
                    route or scope.get(ROUTE, "(unmatched)"),
                    method_label(scope["method"]),
                    status,
                    time.perf_counter() - clock,
                )
