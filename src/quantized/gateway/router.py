"""Send a request to one of a model's upstreams: pick, retry, fall back, within a deadline.

The order comes from :mod:`~quantized.gateway.balance` (tiers, then the model's
strategy). An upstream is skipped while its circuit breaker is open
(:mod:`~quantized.gateway.health`; half-open: one request probes it) or while its
provider quota (``rpm``/``tpm``, counted by the rate limiter every instance
shares) is full; when every upstream is full the request waits for room, briefly.

An attempt that provably was not served is retried on the same upstream, with
exponential backoff and jitter: the connection could not be made (or the
per-origin queue was full), or the upstream answered 429/503 with a short
``Retry-After``. An upstream that answered 5xx, 429 or refused the gateway's
credentials (401/403) sends the request on to the next upstream. A request
whose bytes went out and got no answer (the connection broke, or no answer came
in time) is never sent again, to the same upstream or another: it may be being
served, and billed, already — the caller gets 502 or 504 and decides. Any other
4xx is the request's fault and is passed on at once. Nothing is retried once the
first byte of an answer has been read: the router returns there.

Every attempt counts against the request's deadline (``QUANTIZED_REQUEST_DEADLINE``
or the caller's ``x-quantized-deadline``, the smaller): at the deadline the request
ends with 504 ``deadline_exceeded``. Every failure is logged with the upstream and
the reason, and told to the request's watch (metrics and traces count it).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from quantized.catalog.model import Model, Upstream
from quantized.errors import (
    BadGatewayError,
    GatewayTimeoutError,
    QuantizedError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamFailure,
    UpstreamRejected,
)
from quantized.gateway.balance import Stats, Target, location, plan
from quantized.gateway.client import (
    Response,
    UpstreamClient,
    UpstreamError,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
)
from quantized.gateway.health import CLOSED, OPEN, Breakers
from quantized.gateway.providers import providers
from quantized.gateway.providers.base import CredentialsUnavailable, Provider
from quantized.gateway.quotas import Quotas
from quantized.gateway.streams import invalid_response
from quantized.gateway.upstream_errors import failure, rejection, retry_after_seconds

if TYPE_CHECKING:
    from quantized.gateway.observe import Timing, Watch
    from quantized.gateway.surfaces.base import ModelRequest, Surface

log = logging.getLogger("quantized.gateway")


@dataclass(frozen=True, slots=True)
class RoutingRules:
    retries: int = 2
    """Further attempts on the same upstream, for failures that are safe to retry."""
    backoff: float = 0.1
    """Seconds before the first retry (doubled each time, with full jitter)."""
    max_retry_after: float = 2.0
    """The longest ``Retry-After`` waited for on the same upstream (longer: the next one)."""
    quota_wait: float = 2.0
    """How long a request waits for room when every upstream's quota is full."""
    deadline: float = 600.0
    """Seconds a request may take to its first answer, unless the caller asks for less."""
    max_cooldown: float = 300.0
    """The longest an upstream's ``Retry-After`` keeps its breaker open (past the
    breakers' own cooldown)."""


class DeadlineExceeded(GatewayTimeoutError):
    code = "deadline_exceeded"


class QuotaExhausted(RateLimitError):
    code = "upstream_quota_exhausted"


@dataclass(frozen=True, slots=True)
class Route:
    model: Model
    upstream: Upstream
    provider: Provider
    api_key: str | None
    target: Target | None = None

    @property
    def label(self) -> str:
        """``provider base_url model``, for logs, the ledger and metrics (no secrets)."""
        return self.target.label if self.target is not None else location(self.upstream)

    @property
    def name(self) -> str:
        """The upstream's name, for the ``x-quantized-upstream`` header."""
        return self.target.name if self.target is not None else self.upstream.provider

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


class _Next(Exception):  # noqa: N818 - control flow: try the next upstream
    def __init__(
        self,
        failure: QuantizedError,
        retry_after: float | None = None,
        status: int = 0,
        cooldown: float | None = None,
    ) -> None:
        self.failure = failure
        self.retry_after = retry_after
        """Set when the same upstream may be tried again after that long."""
        self.status = status
        """The upstream's HTTP status (0: it gave none)."""
        self.cooldown = cooldown
        """How long the upstream asked not to be sent anything (its ``Retry-After``)."""


class _Attempt:
    """One request's attempts at one upstream, and whether it holds that upstream's probe."""

    def __init__(
        self,
        surface: Surface[Any],
        request: ModelRequest,
        route: Route,
        watch: Watch,
        timing: Timing,
        tried: list[Route],
        deadline: float,
    ) -> None:
        self.surface, self.request, self.route = surface, request, route
        self.watch, self.timing, self.tried, self.deadline = watch, timing, tried, deadline
        self.probe = False
        """Set while this request holds the half-open breaker's one probe."""
        self.caller_deadline = False


class Router:
    def __init__(
        self,
        client: UpstreamClient,
        secret: Callable[[str], str | None],
        provided: dict[str, Provider] | None = None,
        *,
        breakers: Breakers | None = None,
        quotas: Quotas | None = None,
        rules: RoutingRules | None = None,
    ) -> None:
        self._client = client
        self._secret = secret
        self.providers = providers() if provided is None else provided
        self._preparing = {
            name for name, p in self.providers.items() if type(p).prepare is not Provider.prepare
        }
        """The providers that fetch credentials before a call (the others need no await)."""
        self.breakers = breakers or Breakers()
        """Replaced by the shared (Redis) breakers when the runtime has Redis."""
        self.quotas = quotas or Quotas()
        self.rules = rules or RoutingRules()
        self.stats: dict[str, Stats] = {}
        """This process's view of every upstream, by upstream id."""
        self._targets: dict[int, tuple[Model, list[Target]]] = {}
        self._rng = random.Random()  # noqa: S311 - load balancing, not secrets

    def targets(self, model: Model) -> list[Target]:
        """A model's upstreams, in catalog order (made once per catalog version of it)."""
        cached = self._targets.get(id(model))
        if cached is not None and cached[0] is model:
            return cached[1]
        if len(self._targets) > 4096:
            self._targets.clear()
        found = [Target.of(upstream, self.stats) for upstream in model.upstreams]
        self._targets[id(model)] = (model, found)
        return found

    async def open(
        self,
        surface: Surface[Any],
        request: ModelRequest,
        model: Model,
        watch: Watch,
        timing: Timing,
        tried: list[Route],
        *,
        request_id: str = "",
        deadline: float | None = None,
        caller_deadline: bool = False,
    ) -> Opened:
        """The first upstream answer worth passing on (for streams: with its first chunk).

        ``watch`` hears of every attempt (and may add headers to it, such as the trace
        context); ``timing`` gets when attempts were sent and when the answer came;
        ``tried`` gets each route as it is tried, once per attempt (the last one served,
        or failed); ``deadline`` is a ``time.perf_counter()`` instant (``caller_deadline``:
        the caller asked for it, so an upstream that misses it has not failed).
        """
        targets = self.targets(model)
        if not targets:
            raise ServiceUnavailableError(f"The model '{model.id}' has no upstream configured.")
        if deadline is None:
            deadline = time.perf_counter() + self.rules.deadline
        waited = 0.0
        while True:
            last: QuantizedError | None = None
            cooling: float | None = None
            coolest: Target | None = None
            full: float | None = None
            missing: list[str] = []
            ordered = plan(targets, model.routing, self._rng)
            for position, target in enumerate(ordered):
                upstream = target.upstream
                key = self._secret(upstream.api_key_env) if upstream.api_key_env else None
                if upstream.api_key_env and key is None:
                    missing.append(upstream.api_key_env)
                    continue
                now = time.time()
                state = self.breakers.state(target.id, now)
                if state is OPEN:
                    wait = self.breakers.retry_in(target.id, now)
                    if cooling is None or wait < cooling:
                        cooling, coolest = wait, target
                    continue
                probe = state is not CLOSED
                if probe and not await self.breakers.probe(target.id, now):
                    cooling = _least(cooling, 1.0)
                    continue
                if upstream.rpm or upstream.tpm:
                    member = f"{request_id}:{len(tried)}:{waited}"
                    wait = await self.quotas.admit(target, member, now)
                    if wait:
                        if probe:
                            await self.breakers.release(target.id)
                        full = _least(full, wait)
                        continue
                route = Route(model, upstream, self.providers[upstream.provider], key, target)
                attempt = _Attempt(surface, request, route, watch, timing, tried, deadline)
                attempt.probe, attempt.caller_deadline = probe, caller_deadline
                try:
                    more = position < len(ordered) - 1
                    return await self._attempts(attempt, more)
                except _Next as exc:
                    last = exc.failure
                finally:
                    if attempt.probe:  # neither served nor failed: free the probe's place
                        await self.breakers.release(target.id)
            if last is not None:
                raise last
            left = deadline - time.perf_counter()
            if full is not None and waited < self.rules.quota_wait and left > 0:
                pause = min(full, self.rules.quota_wait - waited, left)
                waited += pause
                await asyncio.sleep(pause)
                continue
            raise _unavailable(model, cooling, coolest, full, missing)

    async def _attempts(self, attempt: _Attempt, more: bool) -> Opened:
        """Attempts at one upstream: the first, and retries of what is safe to retry
        (``more``: other upstreams may be tried after these)."""
        route, watch = attempt.route, attempt.watch
        for retry in range(self.rules.retries + 1):
            try:
                return await self._attempt(attempt)
            except _Next as exc:
                wait = 0.0
                final = retry == self.rules.retries or exc.retry_after is None
                if not final:
                    wait = exc.retry_after or self._rng.uniform(0, self.rules.backoff * 2**retry)
                    final = time.perf_counter() + wait >= attempt.deadline
                reason = str(exc.status) if exc.status else _reason(exc.failure)
                watch.attempt_failed(route, reason, retried=more or not final)
                if final or exc.cooldown is not None:  # a request's failures count once
                    await self._failed(attempt, exc.failure, exc.cooldown)
                if final:
                    log.warning(
                        "upstream %s failed (%s): %s", route.label, reason, exc.failure.message
                    )
                    raise _Next(exc.failure) from None
                log.warning(
                    "upstream %s failed: %s; trying it again in %.2f s",
                    route.label,
                    exc.failure.message,
                    wait,
                )
                await asyncio.sleep(wait)
        raise AssertionError("the last attempt raises")  # pragma: no cover

    async def _attempt(self, attempt: _Attempt) -> Opened:
        route, watch, timing = attempt.route, attempt.watch, attempt.timing
        target = route.target
        assert target is not None  # noqa: S101 - the router's routes have targets
        if attempt.deadline <= time.perf_counter():
            raise DeadlineExceeded("The request's deadline passed before an upstream answered.")
        attempt.tried.append(route)
        try:
            if route.upstream.provider in self._preparing:
                async with asyncio.timeout(attempt.deadline - time.perf_counter()):
                    await route.provider.prepare(route.upstream, route.api_key)
            call = attempt.surface.call(attempt.request, route)
        except CredentialsUnavailable as exc:
            log.warning("upstream %s: no credentials (%s)", route.label, route.scrub(str(exc)))
            raise _Next(
                BadGatewayError(
                    f"The gateway could not authenticate to the upstream for this model "
                    f"({route.upstream.provider}): {route.scrub(str(exc))}"
                )
            ) from None
        except TimeoutError:
            raise DeadlineExceeded(
                "The request's deadline passed while the gateway fetched the credentials for "
                f"the upstream ({route.upstream.provider})."
            ) from None
        if call is None:
            target.stats.inflight += 1  # until the request ends (see charge())
            await self._succeeded(attempt)
            return Opened(route, None, b"")
        extra = watch.attempt(route)
        if extra:
            call = replace(call, headers=[*call.headers, *extra])
        timing.served = sent = time.perf_counter()
        timing.upstream = timing.upstream or timing.served
        target.stats.inflight += 1
        opened: Opened | None = None
        try:
            async with asyncio.timeout(attempt.deadline - sent):
                response = await self._client.post(call.url, call.headers, call.body)
                status = response.status
                if status < 400:
                    opened = await self._first(route, response, attempt.request.stream)
                else:
                    retry_after = retry_after_seconds(response.header(b"retry-after"))
                    rejected = await self._rejected(route, response)
        except TimeoutError:
            # the caller's own deadline says nothing of the upstream's health
            await self._failed(attempt, None, None, counts=not attempt.caller_deadline)
            watch.attempt_failed(route, "timeout", retried=False)
            raise DeadlineExceeded(
                "The request's deadline passed before the upstream answered "
                f"({route.upstream.provider}); it was not sent again."
            ) from None
        except UpstreamError as exc:
            if exc.sent:  # it may be being served (and billed): never send it twice
                await self._failed(attempt, None, None)
                watch.attempt_failed(route, _reason_of(exc), retried=False)
                raise failure(route, exc) from None
            raise _Next(failure(route, exc), retry_after=0.0) from None
        except UpstreamFailure as exc:  # the answer's first bytes never came whole
            too_large = exc.code == "upstream_response_too_large"  # the request asked for it
            await self._failed(attempt, None, None, counts=not too_large)
            watch.attempt_failed(route, "invalid", retried=False)
            log.warning("upstream %s: %s", route.label, exc.message)
            raise
        finally:
            if opened is None:
                target.stats.inflight -= 1
        if opened is not None:
            timing.first = time.perf_counter()
            target.stats.measured(timing.first - sent)
            target.stats.served += 1
            await self._succeeded(attempt)
            return opened
        if status in (504, 524):  # the upstream's edge had it: it may be served, and billed
            await self._failed(attempt, None, None)
            watch.attempt_failed(route, str(status), retried=False)
            raise GatewayTimeoutError(
                f"The upstream's gateway timed out ({status}); the request may have been "
                "served there, so it was not sent again."
            )
        if isinstance(rejected, UpstreamRejected) and status != 429:
            watch.attempt_failed(route, str(status), retried=False)
            await self._succeeded(attempt)  # it answered: up, if not pleased with the request
            raise rejected  # the request's fault: no other upstream would take it
        cooldown = retry_after if status in (429, 503) and retry_after else None
        if cooldown is not None:
            cooldown = min(cooldown, max(self.rules.max_cooldown, self.breakers.rules.cooldown))
        short = cooldown is not None and cooldown <= self.rules.max_retry_after
        raise _Next(rejected, cooldown if short else None, status, cooldown)

    async def _succeeded(self, attempt: _Attempt) -> None:
        """The upstream answered: a probe's success closes its breaker (never failing the
        request that proved it)."""
        target = attempt.route.target
        if not attempt.probe or target is None:
            return
        attempt.probe = False
        try:
            await self.breakers.succeeded(target.id, True)
        except Exception:  # the shared state's trouble is not the request's
            log.exception("closing the breaker of %s failed", attempt.route.label)

    async def _failed(
        self,
        attempt: _Attempt,
        error: QuantizedError | None,
        cooldown: float | None,
        *,
        counts: bool = True,
    ) -> None:
        """Count a failed request (or an upstream's ``Retry-After``) against its breaker;
        ``counts=False``: not the upstream's fault (only a probe's place is freed)."""
        route = attempt.route
        target = route.target
        assert target is not None  # noqa: S101 - the router's routes have targets
        probe, attempt.probe = attempt.probe, False
        if not counts:
            if probe:
                await self.breakers.release(target.id)
            return
        target.stats.failed += 1
        target.stats.last_failure = error
        until = await self.breakers.failed(target.id, time.time(), cooldown, probe=probe)
        if until is not None:
            log.warning(
                "upstream %s is cooling down for %.1f s: requests skip it until then",
                route.label,
                max(until - time.time(), 0.0),
            )

    async def _rejected(self, route: Route, response: Response) -> QuantizedError:
        try:
            body = await response.read()
        except UpstreamError:
            body = b""
        return rejection(route, response.status, body, response.header(b"retry-after"))

    async def _first(self, route: Route, response: Response, stream: bool) -> Opened:
        try:
            if not stream:
                return Opened(route, response, await response.read())
            async for chunk in response.chunks():
                return Opened(route, response, chunk)
            return Opened(route, response, b"")
        except UpstreamTimeout as exc:
            raise failure(route, exc) from None
        except UpstreamResponseTooLarge as exc:
            raise BadGatewayError(
                f"The upstream's answer is too large ({exc}).", code="upstream_response_too_large"
            ) from None
        except UpstreamError as exc:
            response.abort()
            raise invalid_response(f"the answer was cut short ({route.scrub(str(exc))})") from None

    def charge(self, route: Route, tokens: int, request_id: str, now: float) -> None:
        """Count a finished request's tokens against its upstream's quota, and end its
        time in flight."""
        target = route.target
        if target is None:
            return
        target.stats.inflight -= 1
        if tokens:
            self.quotas.charge(target, tokens, request_id, now)

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()


def _least(current: float | None, value: float) -> float:
    return value if current is None else min(current, value)


def _reason(error: QuantizedError) -> str:
    return "timeout" if isinstance(error, GatewayTimeoutError) else "unreachable"


def _reason_of(exc: UpstreamError) -> str:
    return "timeout" if isinstance(exc, UpstreamTimeout) else "unreachable"


def _unavailable(
    model: Model,
    cooling: float | None,
    coolest: Target | None,
    full: float | None,
    missing: list[str],
) -> QuantizedError:
    if full is not None:
        return QuotaExhausted(
            f"Every upstream of the model '{model.id}' is at its provider's quota; "
            f"try again in {full:.1f} s.",
            retry_after=max(full, 1.0),
        )
    last = coolest.stats.last_failure if coolest is not None else None
    if cooling is not None and isinstance(last, UpstreamRejected) and last.status == 429:
        return UpstreamRejected(  # the upstream's own rate limit, as it said it
            429,
            f"{last.message} (the upstream asked for {cooling:.1f} s more)",
            code=last.code,
            retry_after=max(cooling, 1.0),
        )
    if cooling is not None:
        return ServiceUnavailableError(
            f"Every upstream of the model '{model.id}' failed recently and is cooling down; "
            f"try again in {cooling:.1f} s.",
            code="upstream_unavailable",
            retry_after=max(cooling, 1.0),
        )
    return ServiceUnavailableError(
        f"The model '{model.id}' cannot be served: the gateway has no provider key "
        f"(the operator must set {' or '.join(dict.fromkeys(missing))})."
    )
