"""Domain errors as HTTP answers: the status by class hierarchy, the body in each API's shape.

A status is found the way Starlette finds an exception handler: walking the
error's class hierarchy (``type(exc).__mro__``) to the nearest class in
:data:`STATUS`, so a new subclass is answered like its parent with no table to
reorder. An upstream's own 4xx (:class:`UpstreamRejected`) keeps its status.

Each API surface has an :class:`ErrorShape`: OpenAI's ``{"error": {...}}`` here,
Anthropic's ``{"type": "error", ...}`` for the Messages API. :func:`error_reply`
is the one function that turns an error into a complete response (status,
headers, body); the error boundary, the raw routes and the HTTP protocol's own
rejections (400, 413, 414, 431, 503) all use it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import orjson

from quantized.errors import (
    AuthenticationError,
    BadGatewayError,
    ConfigurationError,
    ConflictError,
    GatewayTimeoutError,
    GoneError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuantizedError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamFailure,
    UpstreamRejected,
)

Headers = list[tuple[bytes, bytes]]
Reply = tuple[int, Sequence[tuple[bytes, bytes]], bytes]
"""Status, headers (content-length included) and body of a complete response."""

V = TypeVar("V")

STATUS: Mapping[type[QuantizedError], int] = {
    QuantizedError: 400,
    InvalidRequestError: 400,
    PayloadTooLargeError: 413,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    MethodNotAllowedError: 405,
    ConflictError: 409,
    GoneError: 410,
    RateLimitError: 429,
    ConfigurationError: 500,
    ServiceUnavailableError: 503,
    UpstreamFailure: 502,
    BadGatewayError: 502,
    GatewayTimeoutError: 504,
}
_REALM = b'Bearer realm="quantized"'
_QUOTABLE = set(range(0x20, 0x7F)) - {ord('"'), ord("\\")}
_JSON = (b"content-type", b"application/json")
INTERNAL_MESSAGE = "The server had an error processing your request."


def nearest(table: Mapping[type[QuantizedError], V], exc: QuantizedError) -> V:
    """The entry of the nearest class in ``exc``'s hierarchy (``QuantizedError`` at worst)."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return table[QuantizedError]


def status_of(exc: QuantizedError) -> int:
    if isinstance(exc, UpstreamRejected):
        return exc.status
    return nearest(STATUS, exc)


class ErrorShape(ABC):
    """How one API surface writes an error: as a body, and as an event inside a stream."""

    request_id_header: bytes | None = None
    """A header of this API's own that carries the request id, beside ``x-request-id``."""

    def reply_headers(self, status: int) -> Headers:
        """Headers of this API's own on an error answer of ``status``."""
        return []

    @abstractmethod
    def error(self, exc: QuantizedError, status: int) -> dict[str, object]:
        """The error as this API's JSON object."""

    @abstractmethod
    def internal(self) -> dict[str, object]:
        """The JSON object of an unexpected failure (a 500): nothing internal in it."""

    @abstractmethod
    def event(self, error: dict[str, object], sequence: int = 0) -> bytes:
        """An error object as one server-sent event (``sequence``: the number of the next
        event, for an API that numbers them)."""


class OpenAIErrors(ErrorShape):
    """``{"error": {"message", "type", "param", "code"}}``, as OpenAI's API and SDKs have it."""

    TYPES: Mapping[type[QuantizedError], str] = {
        QuantizedError: "invalid_request_error",
        AuthenticationError: "authentication_error",
        PermissionDeniedError: "permission_error",
        RateLimitError: "rate_limit_error",
        ConfigurationError: "server_error",
        ServiceUnavailableError: "server_error",
        UpstreamFailure: "upstream_error",
    }

    @staticmethod
    def body(
        message: str, error_type: str, param: str | None, code: str | None
    ) -> dict[str, object]:
        return {"error": {"message": message, "type": error_type, "param": param, "code": code}}

    def error(self, exc: QuantizedError, status: int) -> dict[str, object]:
        error_type = nearest(self.TYPES, exc)
        if isinstance(exc, UpstreamRejected):
            error_type = "rate_limit_error" if status == 429 else "invalid_request_error"
        return self.body(exc.message, error_type, exc.param, exc.code)

    def internal(self) -> dict[str, object]:
        return self.body(INTERNAL_MESSAGE, "server_error", None, "internal_error")

    def event(self, error: dict[str, object], sequence: int = 0) -> bytes:
        return b"data: " + orjson.dumps(error) + b"\n\n"


OPENAI = OpenAIErrors()


class ResponsesErrors(OpenAIErrors):
    """OpenAI's shape; inside a Responses API stream, an ``error`` event of that API
    (``{"type": "error", "code", "message", "param", "sequence_number"}``)."""

    def event(self, error: dict[str, object], sequence: int = 0) -> bytes:
        inner = error.get("error")
        found = inner if isinstance(inner, dict) else {}
        event = {
            "type": "error",
            "code": found.get("code"),
            "message": found.get("message"),
            "param": found.get("param"),
            "sequence_number": sequence,
        }
        return b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"


RESPONSES = ResponsesErrors()


class AnthropicErrors(ErrorShape):
    """``{"type": "error", "error": {"type", "message"}}``, as Anthropic's Messages API has it.

    The type follows the status, as Anthropic's does, so its SDK raises the matching
    exception and Claude Code shows the message; the request id also goes out as
    ``request-id``, the header Anthropic's SDK reads.
    """

    request_id_header = b"request-id"
    TYPES: Mapping[int, str] = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        410: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        503: "overloaded_error",
        529: "overloaded_error",
    }

    @staticmethod
    def body(error_type: str, message: str) -> dict[str, object]:
        return {"type": "error", "error": {"type": error_type, "message": message}}

    def error(self, exc: QuantizedError, status: int) -> dict[str, object]:
        fallback = "api_error" if status >= 500 else "invalid_request_error"
        return self.body(self.TYPES.get(status, fallback), exc.message)

    def internal(self) -> dict[str, object]:
        return self.body("api_error", INTERNAL_MESSAGE)

    def reply_headers(self, status: int) -> Headers:
        """``x-should-retry``, as Anthropic sends it: Claude Code retries a 401 or a 404
        with backoff for minutes unless it is told not to."""
        retry = status in (408, 409, 429) or status >= 500
        return [(b"x-should-retry", b"true" if retry else b"false")]

    def event(self, error: dict[str, object], sequence: int = 0) -> bytes:
        return b"event: error\ndata: " + orjson.dumps(error) + b"\n\n"


ANTHROPIC = AnthropicErrors()


def www_authenticate(exc: AuthenticationError) -> tuple[bytes, bytes]:
    """RFC 6750: a bad credential gets ``error="invalid_token"`` and a description."""
    if not exc.presented:
        return b"www-authenticate", _REALM
    description = bytes(c for c in exc.message.encode("ascii", "replace") if c in _QUOTABLE)
    return b"www-authenticate", (
        _REALM + b', error="invalid_token", error_description="' + description + b'"'
    )


def error_reply(
    exc: QuantizedError,
    shape: ErrorShape = OPENAI,
    *,
    request_id: bytes | None = None,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> Reply:
    """The complete response for a domain error, in ``shape``."""
    status = status_of(exc)
    headers: Headers = []
    if isinstance(exc, AuthenticationError):
        headers.append(www_authenticate(exc))
    if isinstance(exc, MethodNotAllowedError):
        headers.append((b"allow", ", ".join(exc.allow).encode()))
    if isinstance(exc, PayloadTooLargeError):  # the rest of the body will not be read
        headers.append((b"connection", b"close"))
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        headers.append((b"retry-after", b"%d" % max(1, math.ceil(retry_after))))
    headers.extend(extra)
    return _reply(status, shape.error(exc, status), shape, request_id, headers)


def _reply(
    status: int,
    error: dict[str, object],
    shape: ErrorShape,
    request_id: bytes | None,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> Reply:
    """Every error answer: the JSON body, its length, the API's own headers, the ids."""
    body = orjson.dumps(error)
    headers: Headers = [_JSON, (b"content-length", b"%d" % len(body)), *extra]
    headers += shape.reply_headers(status)
    if request_id is not None:
        headers += request_id_headers(shape, request_id)
    return status, headers, body


def request_id_headers(shape: ErrorShape, request_id: bytes) -> Headers:
    """``x-request-id``, and the API's own request-id header if it has one."""
    headers = [(b"x-request-id", request_id)]
    if shape.request_id_header is not None:
        headers.append((shape.request_id_header, request_id))
    return headers


def internal_reply(shape: ErrorShape = OPENAI, *, request_id: bytes | None = None) -> Reply:
    """The 500 for an unexpected failure: the details go to the log, never to the client."""
    return _reply(500, shape.internal(), shape, request_id)


def shape_of_path(path: bytes) -> ErrorShape:
    """The error shape of the API a raw request path belongs to, for answers made before
    any route runs: Anthropic's under ``/v1/messages``, OpenAI's everywhere else."""
    return ANTHROPIC if path.startswith(b"/v1/messages") else OPENAI


def protocol_reply(
    status: int,
    message: str,
    code: str,
    *,
    request_id: bytes | None = None,
    shape: ErrorShape = OPENAI,
) -> Reply:
    """A rejection made by the HTTP protocol itself, before any route runs: malformed HTTP
    (400), a body or head over the limits (413, 414, 431), no capacity (503) — in OpenAI's
    shape unless the request's path is known to belong to another API."""
    if shape is OPENAI:
        error_type = "server_error" if status >= 500 else "invalid_request_error"
        error = OPENAI.body(message, error_type, None, code)
    else:
        error = shape.error(QuantizedError(message, code=code), status)
    return _reply(status, error, shape, request_id)
