"""What an upstream's failure means for the client: the domain error it becomes.

A 401 or 403 is the gateway's credentials, never the caller's (a 502 that tells the
operator which variable to check); a 429 keeps the upstream's ``Retry-After``; a
5xx is a 502; any other 4xx is the request's fault and is passed on with the
upstream's message, ``param`` and ``code``. Provider keys are scrubbed from every
message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson

from quantized.errors import (
    BadGatewayError,
    GatewayTimeoutError,
    QuantizedError,
    UpstreamRejected,
)
from quantized.gateway.client import UpstreamError, UpstreamTimeout
from quantized.gateway.providers.base import error_message

if TYPE_CHECKING:
    from quantized.gateway.router import Route

log = logging.getLogger("quantized.gateway")


def retry_after_seconds(value: bytes | None) -> float | None:
    """A ``Retry-After`` in seconds (its HTTP-date form is rare from APIs, and ignored)."""
    if value is None or not value.strip().isdigit() or len(value) > 9:
        return None
    return float(value)


def rejection(
    route: Route, status: int, body: bytes, retry_after: bytes | None = None
) -> QuantizedError:
    if status == 400 and b'"API_KEY_INVALID"' in body:  # Gemini refuses a wrong key so
        status = 401
    if status in (401, 403):
        log.warning("upstream %s refused the gateway's credentials (%d)", route.label, status)
        return BadGatewayError(
            f"The upstream for this model ({route.upstream.provider}) refused the gateway's "
            f"credentials ({status}); the operator must check "
            f"{route.upstream.api_key_env or 'its credentials'}."
        )
    message = route.scrub(error_message(body))
    if status == 429:
        return UpstreamRejected(
            429,
            f"Upstream rate limit: {message}",
            code="upstream_rate_limited",
            retry_after=retry_after_seconds(retry_after),
        )
    if status >= 500:
        return BadGatewayError(f"The upstream failed ({status}): {message}")
    param = code = None
    try:
        error = orjson.loads(body).get("error")
        if isinstance(error, dict):
            param = error.get("param") if isinstance(error.get("param"), str) else None
            code = error.get("code") if isinstance(error.get("code"), str) else None
    except (orjson.JSONDecodeError, AttributeError):
        pass
    return UpstreamRejected(status, message, param=param, code=code)


def failure(route: Route, exc: UpstreamError) -> QuantizedError:
    text = route.scrub(str(exc))
    if isinstance(exc, UpstreamTimeout):
        return GatewayTimeoutError(f"The upstream did not answer in time ({text}).")
    return BadGatewayError(f"The upstream is unreachable ({text}).")
