"""The one place domain errors become HTTP: status, OpenAI error shape, headers."""

from __future__ import annotations

import logging
import math

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

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
    UpstreamRejected,
)

log = logging.getLogger("quantized.api")

Headers = list[tuple[bytes, bytes]]

_STATUS: tuple[tuple[type[QuantizedError], int, str], ...] = (
    (AuthenticationError, 401, "authentication_error"),
    (PermissionDeniedError, 403, "permission_error"),
    (NotFoundError, 404, "invalid_request_error"),
    (MethodNotAllowedError, 405, "invalid_request_error"),
    (ConflictError, 409, "invalid_request_error"),
    (GoneError, 410, "invalid_request_error"),
    (PayloadTooLargeError, 413, "invalid_request_error"),
    (InvalidRequestError, 400, "invalid_request_error"),
    (RateLimitError, 429, "rate_limit_error"),
    (ServiceUnavailableError, 503, "server_error"),
    (BadGatewayError, 502, "upstream_error"),
    (GatewayTimeoutError, 504, "upstream_error"),
    (ConfigurationError, 500, "server_error"),
)
_JSON = (b"content-type", b"application/json")
_REALM = b'Bearer realm="quantized"'
_QUOTABLE = set(range(0x20, 0x7F)) - {ord('"'), ord("\\")}


def www_authenticate(exc: AuthenticationError) -> tuple[bytes, bytes]:
    """RFC 6750: a bad credential gets ``error="invalid_token"`` and a description."""
    if not exc.presented:
        return b"www-authenticate", _REALM
    description = bytes(c for c in exc.message.encode("ascii", "replace") if c in _QUOTABLE)
    return b"www-authenticate", (
        _REALM + b', error="invalid_token", error_description="' + description + b'"'
    )


def error_body(message: str, error_type: str, param: str | None, code: str | None) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    )


def render_error(exc: QuantizedError) -> tuple[int, Headers, bytes]:
    """Status, headers and body for a domain error."""
    status, error_type = 400, "invalid_request_error"
    for cls, cls_status, cls_type in _STATUS:
        if isinstance(exc, cls):
            status, error_type = cls_status, cls_type
            break
    if isinstance(exc, UpstreamRejected):
        status = exc.status
        error_type = "rate_limit_error" if status == 429 else "invalid_request_error"
    headers: Headers = [_JSON]
    if isinstance(exc, AuthenticationError):
        headers.append(www_authenticate(exc))
    if isinstance(exc, MethodNotAllowedError):
        headers.append((b"allow", ", ".join(exc.allow).encode()))
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        headers.append((b"retry-after", b"%d" % max(1, math.ceil(exc.retry_after))))
    return status, headers, error_body(exc.message, error_type, exc.param, exc.code)


def _response(status: int, headers: Headers, body: bytes) -> Response:
    response = Response(body, status_code=status)
    for name, value in headers:
        response.headers[name.decode()] = value.decode()
    return response


async def domain_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QuantizedError)  # noqa: S101 - registered for QuantizedError only
    return _response(*render_error(exc))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 and friends, in the OpenAI shape."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code == 404:
        error: QuantizedError = NotFoundError(
            f"Unknown path: {request.method} {request.url.path}", code="unknown_path"
        )
    elif exc.status_code == 405:
        allow = tuple((exc.headers or {}).get("Allow", "GET").split(", "))
        error = MethodNotAllowedError(
            f"Method {request.method} is not allowed on {request.url.path}", allow=allow
        )
    else:
        status = exc.status_code
        body = error_body(str(exc.detail), "invalid_request_error", None, None)
        return _response(status, [_JSON], body)
    return _response(*render_error(error))


async def database_error_handler(_request: Request, exc: Exception) -> Response:
    """The database is unreachable (or refused the connection): 503, try again later."""
    log.warning("database error: %s", type(exc).__name__)
    return _response(
        *render_error(
            ServiceUnavailableError(
                "The database is unreachable; try again shortly.", code="database_unavailable"
            )
        )
    )


async def unexpected_error_handler(_request: Request, exc: Exception) -> Response:
    """A bug or an outage: log it with its traceback, tell the caller nothing internal."""
    log.error("unhandled error", exc_info=exc)
    body = error_body(
        "The server had an error processing your request.", "server_error", None, "internal_error"
    )
    return _response(500, [_JSON], body)
