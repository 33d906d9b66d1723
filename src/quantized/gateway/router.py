"""Send a request to a model's upstreams in catalog order, falling back on failure.

The next upstream is tried after a connection error or a timeout that happened
before any byte of the request was sent (never after: it may have been billed),
a 5xx or a 429, or a rejection of the gateway's own credentials (401/403) — as
long as nothing has reached the client yet. Any other 4xx is the request's fault
and is passed on at once. Provider keys come from the environment variables the
catalog names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

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
    UpstreamResponseTooLarge,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from quantized.gateway.providers import PROVIDERS
from quantized.gateway.providers.base import Provider, error_message
from quantized.gateway.request import ChatRequest

log = logging.getLogger("quantized.gateway")


@dataclass(frozen=True, slots=True)
class Route:
    upstream: Upstream
    provider: Provider
    api_key: str | None

    @property
    def label(self) -> str:
        return f"{self.upstream.provider} {self.upstream.base_url} {self.upstream.model}"[:300]

    def scrub(self, text: str) -> str:
        """Never pass a provider key on, even inside an upstream's error message."""
        return text.replace(self.api_key, "[redacted]") if self.api_key else text


@dataclass(frozen=True, slots=True)
class Opened:
    route: Route
    response: Response
    first: bytes | None = None
    """For streams: the first body chunk, read before the client was answered."""


def _rejection(route: Route, status: int, body: bytes) -> QuantizedError:
    if status in (401, 403):
        log.warning("upstream %s refused the gateway's credentials (%d)", route.label, status)
        return BadGatewayError(
            f"The upstream for this model ({route.upstream.provider}) refused the gateway's "
            f"credentials ({status}); the operator must check {route.upstream.api_key_env}."
        )
    message = route.scrub(error_message(body))
    if status == 429:
        return UpstreamRejected(
            429, f"Upstream rate limit: {message}", code="upstream_rate_limited"
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


class Router:
    def __init__(self, client: UpstreamClient, secret: Callable[[str], str | None]) -> None:
        self._client = client
        self._secret = secret

    def routes(self, model: Model) -> list[Route]:
        """The usable upstreams of a model, in order; 503 if there are none."""
        routes, missing = [], []
        for upstream in model.upstreams:
            key = self._secret(upstream.api_key_env) if upstream.api_key_env else None
            if upstream.api_key_env and key is None:
                missing.append(upstream.api_key_env)
                continue
            routes.append(Route(upstream, PROVIDERS[upstream.provider], key))
        if routes:
            return routes
        if missing:
            raise ServiceUnavailableError(
                f"The model '{model.id}' cannot be served: the gateway has no provider key "
                f"(the operator must set {' or '.join(dict.fromkeys(missing))})."
            )
        raise ServiceUnavailableError(f"The model '{model.id}' has no upstream configured.")

    async def open(self, request: ChatRequest, model: Model) -> Opened:
        """The first upstream answer worth passing on (for streams: with its first chunk)."""
        failure: QuantizedError | None = None
        for route in self.routes(model):
            call = route.provider.call(request, route.upstream, route.api_key)
            try:
                response = await self._client.post(call.url, call.headers, call.body)
                if response.status >= 400:
                    failure = _rejection(route, response.status, await response.read())
                    if isinstance(failure, UpstreamRejected) and failure.status != 429:
                        raise failure
                    continue
                if not request.stream:
                    return Opened(route, response, await response.read())
                first = None
                async for chunk in response.chunks():
                    first = chunk
                    break
                return Opened(route, response, first)
            except UpstreamTimeout as exc:
                failure = GatewayTimeoutError(f"The upstream did not answer in time ({exc}).")
                sent = exc.sent
            except UpstreamUnreachable as exc:
                failure = BadGatewayError(f"The upstream is unreachable ({exc}).")
                sent = exc.sent
            except UpstreamResponseTooLarge as exc:
                failure = BadGatewayError(f"The upstream's answer is too large ({exc}).")
                sent = True
            log.warning("upstream %s failed: %s", route.label, failure.message)
            if sent:
                break  # the request may have reached this upstream: never send it to another
        assert failure is not None  # noqa: S101 - routes() returned at least one route
        raise failure
