"""Domain errors as HTTP: status by class hierarchy, the OpenAI shape, the headers each needs."""

from __future__ import annotations

import orjson
import pytest

from quantized.api.errors import OPENAI, error_reply, internal_reply, status_of
from quantized.errors import (
    AuthenticationError,
    BadGatewayError,
    ConfigurationError,
    GatewayTimeoutError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    QuantizedError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamRejected,
)
from quantized.gateway.pipeline import StreamInterrupted
from quantized.limits import Decision, Limits, RateLimited


class KeyMissing(NotFoundError):
    """A subclass nobody registered: answered like its parent."""


@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (KeyMissing("no"), 404, "invalid_request_error"),
        (InvalidRequestError("bad"), 400, "invalid_request_error"),
        (PayloadTooLargeError("big"), 413, "invalid_request_error"),
        (AuthenticationError("who"), 401, "authentication_error"),
        (
            RateLimited("slow", retry_after=1, decision=Decision(False, Limits(1), 0, 1, 0, 0)),
            429,
            "rate_limit_error",
        ),
        (ServiceUnavailableError("down"), 503, "server_error"),
        (StreamInterrupted("broke"), 502, "upstream_error"),
        (GatewayTimeoutError("late"), 504, "upstream_error"),
        (UpstreamRejected(418, "teapot"), 418, "invalid_request_error"),
        (UpstreamRejected(429, "slow"), 429, "rate_limit_error"),
        (ConfigurationError("oops"), 500, "server_error"),
        (QuantizedError("plain"), 400, "invalid_request_error"),
    ],
)
def test_status_and_type_come_from_the_nearest_class(
    error: QuantizedError, status: int, error_type: str
) -> None:
    assert status_of(error) == status
    reply_status, headers, body = error_reply(error, request_id=b"req_1")
    assert reply_status == status
    assert orjson.loads(body)["error"]["type"] == error_type
    assert (b"x-request-id", b"req_1") in headers
    assert (b"content-length", b"%d" % len(body)) in headers


def test_headers_each_error_needs() -> None:
    _, headers, _ = error_reply(AuthenticationError("Missing API key.", presented=False))
    assert (b"www-authenticate", b'Bearer realm="quantized"') in headers
    _, headers, _ = error_reply(AuthenticationError('Bad "key"\\'))
    challenge = dict(headers)[b"www-authenticate"]
    assert b'error="invalid_token"' in challenge and b"\\" not in challenge
    _, headers, _ = error_reply(MethodNotAllowedError("no", allow=("GET", "HEAD")))
    assert dict(headers)[b"allow"] == b"GET, HEAD"
    _, headers, _ = error_reply(RateLimitError("wait", retry_after=0.2))
    assert dict(headers)[b"retry-after"] == b"1"
    _, headers, _ = error_reply(ServiceUnavailableError("busy", retry_after=2.5))
    assert dict(headers)[b"retry-after"] == b"3"
    _, headers, _ = error_reply(PayloadTooLargeError("big"))
    assert dict(headers)[b"connection"] == b"close"
    _, headers, _ = error_reply(BadGatewayError("down"))
    assert b"retry-after" not in dict(headers)


def test_the_internal_error_says_nothing_internal() -> None:
    status, headers, body = internal_reply(OPENAI, request_id=b"req_2")
    assert status == 500
    assert orjson.loads(body) == {
        "error": {
            "message": "The server had an error processing your request.",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    assert dict(headers)[b"x-request-id"] == b"req_2"
