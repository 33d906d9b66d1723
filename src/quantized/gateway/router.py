"""Send a request to a model's upstreams in catalog order, falling back on failure.

The next upstream is tried when the request provably was not served: the
connection could not be made (or the per-origin queue was full), or the
upstream answered 5xx, 429, or refused the gateway's own credentials (401/403).
A request whose bytes went out and got no answer (the connection broke, or no
answer came in time) is never sent again, to the same upstream or another: it
may be being served, and billed, already — the caller gets 502 or 504 and
decides. Any other 4xx is the request's fault and is passed on at once. Every
fallback is logged with the upstream and the reason, and told to the request's
watch (metrics and traces count it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from quantized.catalog.model import Model, Upstream
from quantized.errors import (
    BadGatewayError,
    GatewayTimeoutError,
    QuantizedError,
    ServiceUnavailableError,
    UpstreamRejected,
)
from quantized.gateway.client import (
    Response,
    UpstreamClient,
    UpstreamError,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
)
from quantized.gateway.providers import providers
from quantized.gateway.providers.base import Provider, error_message
from quantized.gateway.streams import invalid_response

if TYPE_CHECKING:
    from quantized.gateway.observe import Timing, Watch
    from quantized.gateway.surfaces.base import ModelRequest, Surface

log = logging.getLogger("quantized.gateway")


@dataclass(frozen=True, slots=True)
class Route:
    model: Model
    upstream: Upstream
    provider: Provider
    api_key: str | None

    @property
    def label(self) -> str:
        """``provider base_url model``, for logs, the ledger and metrics: the base URL
        without credentials (``user:password@``) or query, which may hold secrets."""
        parts = urlsplit(self.upstream.base_url)
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        base = f"{parts.scheme}://{host}{port}{parts.path}"
        return f"{self.upstream.provider} {base} {self.upstream.model}"[:300]

    def scrub(self, text: str) -> str:
        """Never pass a provider key on, even inside an upstream's error message."""
        return text.replace(self.api_key, "[redacted]") if self.api_key else text


@dataclass(frozen=True, slots=True)
class Opened:
    route: Route
    response: Response | None
    """``None`` when the surface answers the route itself."""
    first: bytes
    """The whole body, or for streams the first chunk, read before the client was answered."""


def _seconds(value: bytes | None) -> float | None:
    """A ``Retry-After`` in seconds (its HTTP-date form is rare from APIs, and ignored)."""
    if value is None or not value.strip().isdigit() or len(value) > 9:
        return None
    return float(value)


def _rejection(
    route: Route, status: int, body: bytes, retry_after: bytes | None = None
) -> QuantizedError:
    if status in (401, 403):
        log.warning("upstream %s refused the gateway's credentials (%d)", route.label, status)
        return BadGatewayError(
            f"The upstream for this model ({route.upstream.provider}) refused the gateway's "
            f"credentials ({status}); the operator must check {route.upstream.api_key_env}."
        )
    message = route.scrub(error_message(body))
    if status == 429:
        return UpstreamRejected(
            429,
            f"Upstream rate limit: {message}",
            code="upstream_rate_limited",
            retry_after=_seconds(retry_after),
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


def _failure(route: Route, exc: UpstreamError) -> QuantizedError:
    text = route.scrub(str(exc))
    if isinstance(exc, UpstreamTimeout):
        return GatewayTimeoutError(f"The upstream did not answer in time ({text}).")
    return BadGatewayError(f"The upstream is unreachable ({text}).")


class Router:
    def __init__(
        self,
        client: UpstreamClient,
        secret: Callable[[str], str | None],
        provided: dict[str, Provider] | None = None,
    ) -> None:
        self._client = client
        self._secret = secret
        self.providers = providers() if provided is None else provided

    def routes(self, model: Model) -> list[Route]:
        """The usable upstreams of a model, in order; 503 if there are none."""
        routes, missing = [], []
        for upstream in model.upstreams:
            key = self._secret(upstream.api_key_env) if upstream.api_key_env else None
            if upstream.api_key_env and key is None:
                missing.append(upstream.api_key_env)
                continue
            routes.append(Route(model, upstream, self.providers[upstream.provider], key))
        if routes:
            return routes
        if missing:
            raise ServiceUnavailableError(
                f"The model '{model.id}' cannot be served: the gateway has no provider key "
                f"(the operator must set {' or '.join(dict.fromkeys(missing))})."
            )
        raise ServiceUnavailableError(f"The model '{model.id}' has no upstream configured.")

    async def open(
        self,
        surface: Surface[Any],
        request: ModelRequest,
        model: Model,
        watch: Watch,
        timing: Timing,
        tried: list[Route],
    ) -> Opened:
        """The first upstream answer worth passing on (for streams: with its first chunk).

        ``watch`` hears of every attempt (and may add headers to it, such as the trace
        context); ``timing`` gets when attempts were sent and when the answer came;
        ``tried`` gets each route as it is tried (the last one served, or failed).
        """
        routes = self.routes(model)
        for position, route in enumerate(routes):
            tried.append(route)
            call = surface.call(request, route)
            if call is None:
                return Opened(route, None, b"")
            extra = watch.attempt(route)
            if extra:
                call = replace(call, headers=[*call.headers, *extra])
            timing.served = time.perf_counter()
            timing.upstream = timing.upstream or timing.served
            try:
                response = await self._client.post(call.url, call.headers, call.body)
            except UpstreamError as exc:
                failure = _failure(route, exc)
                reason = "timeout" if isinstance(exc, UpstreamTimeout) else "unreachable"
                if exc.sent:  # it may be being served (and billed): never send it twice
                    log.warning(
                        "upstream %s failed after the request was sent: %s",
                        route.label,
                        failure.message,
                    )
                    watch.attempt_failed(route, reason, retried=False)
                    raise failure from None
            else:
                if response.status < 400:
                    opened = await self._first(route, response, request.stream)
                    timing.first = time.perf_counter()
                    return opened
                failure = await self._rejected(route, response)
                reason = str(response.status)
                if isinstance(failure, UpstreamRejected) and failure.status != 429:
                    watch.attempt_failed(route, reason, retried=False)
                    raise failure
            last = position == len(routes) - 1
            watch.attempt_failed(route, reason, retried=not last)
            if last:
                log.warning("upstream %s failed (%s): %s", route.label, reason, failure.message)
                raise failure
            log.warning(
                "upstream %s failed (%s): %s; trying the next upstream",
                route.label,
                reason,
                failure.message,
            )
        raise AssertionError("routes() returns at least one route")  # pragma: no cover

    async def _rejected(self, route: Route, response: Response) -> QuantizedError:
        try:
            body = await response.read()
        except UpstreamError:
            body = b""
        return _rejection(route, response.status, body, response.header(b"retry-after"))

    async def _first(self, route: Route, response: Response, stream: bool) -> Opened:
        try:
            if not stream:
                return Opened(route, response, await response.read())
            async for chunk in response.chunks():
                return Opened(route, response, chunk)
            return Opened(route, response, b"")
        except UpstreamTimeout as exc:
            raise _failure(route, exc) from None
        except UpstreamResponseTooLarge as exc:
            raise BadGatewayError(
                f"The upstream's answer is too large ({exc}).", code="upstream_response_too_large"
            ) from None
        except UpstreamError as exc:
            response.abort()
            raise invalid_response(f"the answer was cut short ({route.scrub(str(exc))})") from None
