"""The request pipeline every model endpoint shares.

    authenticate → parse → resolve the model (access, status) → capability checks
    → budget (reserve the worst case) → rate limit → route with fallback
    → relay (whole or streamed) → record (ledger, settle the reservation)

An HTTP adapter (``quantized.api.model_route``) drives one :class:`Exchange` per
request and supplies the :class:`~quantized.gateway.surfaces.base.Surface` that
parses the body and writes the answer in its API's format; everything between
is here, once. Every request an authenticated caller makes is recorded in the
ledger when its exchange finishes — served, refused or failed, including
streams the client abandoned (then the completion tokens are the chunks sent so
far, and the row is flagged as estimated).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from quantized.auth.principal import Principal
from quantized.catalog.model import Model
from quantized.errors import (
    BadGatewayError,
    InvalidRequestError,
    QuantizedError,
    UpstreamFailure,
)
from quantized.gateway.capabilities import check_capabilities, check_endpoint
from quantized.gateway.client import UpstreamError
from quantized.gateway.observe import Observer, Timing
from quantized.gateway.router import Opened, Route, Router
from quantized.gateway.streams import Headers, StreamTranslator, Usage, invalid_response
from quantized.gateway.surfaces.base import ModelRequest, Surface
from quantized.gateway.worst_case import Reserve, worst_case
from quantized.limits import Decision, Limits, RateLimited, RateLimiter, admit
from quantized.usage.budgets import Reservation
from quantized.usage.cost import cost_usd, to_pico
from quantized.usage.ledger import UsageRecord

if TYPE_CHECKING:
    from quantized.runtime.state import LiveState

log = logging.getLogger("quantized.gateway")
T = TypeVar("T")


class StreamInterrupted(BadGatewayError):
    """The upstream's stream broke after the client's answer had started."""

    code = "upstream_interrupted"


@dataclass
class Outcome:
    """What happened to one request, for the ledger."""

    status: int = 500
    error_code: str | None = "internal_error"
    stream: bool = False
    model: Model | None = None
    upstream: str | None = None
    provider: str = ""
    upstream_model: str = ""
    endpoint: str = ""
    usage: Usage = field(default_factory=Usage)
    estimated: bool = False
    limited: bool = False
    attempts: int = 0
    """Upstream calls made: retries and fallbacks each count one."""
    upstream_name: str | None = None
    """The name of the upstream that served (or last failed), for ``x-quantized-upstream``."""


class Pipeline:
    """The shared parts: live state, router, limiter, and where records go."""

    def __init__(
        self,
        state: LiveState,
        router: Router,
        record: Callable[[UsageRecord, Reservation | None], asyncio.Future[Any] | None],
        limiter: RateLimiter,
        default_limits: Limits,
        observer: Observer | None = None,
        reserve: Reserve | None = None,
    ) -> None:
        self.state = state
        self.router = router
        self.record = record
        self.limiter = limiter
        """Replaced by the shared (Redis) limiter when the runtime has one."""
        self.default_limits = default_limits
        self.observer = observer or Observer()
        """Who watches requests (metrics, traces); replaced by the runtime's."""
        self.reserve = reserve or Reserve()
        """How a request's worst case is estimated, for hard budgets."""

    def begin(self, request_id: str, endpoint: str, headers: Headers | None = None) -> Exchange:
        """A new request to ``endpoint`` (a surface's); ``headers`` are the client's (for
        the trace context they may carry)."""
        return Exchange(self, request_id, endpoint, headers or [])


@dataclass
class Whole:
    """A complete answer body, in the surface's format, with the surface's own headers."""

    body: bytes
    headers: Headers = field(default_factory=list)


class Exchange:
    """One request through the pipeline; :meth:`finish` records it (once)."""

    def __init__(
        self, pipeline: Pipeline, request_id: str, endpoint: str, headers: Headers
    ) -> None:
        self._pipeline = pipeline
        self.request_id = request_id
        self.started = time.time()
        self.timing = Timing(time.perf_counter())
        self.watch = pipeline.observer.watch(request_id, endpoint, headers)
        self.principal: Principal | None = None
        self.caller: tuple[str, str] | None = None
        """The caller's (kind, id), once authenticated."""
        self.record: UsageRecord | None = None
        """The ledger's record of the request, once finished."""
        self._finished = False
        self.outcome = Outcome(endpoint=endpoint)
        self.decision: Decision | None = None
        """The rate limiter's decision, when limits apply (for ``x-ratelimit-*`` headers)."""
        self._charging: asyncio.Future[Any] | None = None
        self.reservation: Reservation | None = None
        """What the request holds against its hard budgets until it is recorded."""
        self.route: Route | None = None
        """The upstream that answered, in flight until the request is recorded."""

    async def authenticate(self, authorization: bytes | None) -> Principal:
        self.principal = await self._pipeline.state.auth.resolve(authorization)
        self.caller = (self.principal.kind, self.principal.id)
        return self.principal

    async def run(
        self, surface: Surface[Any], body: bytes | bytearray, headers: Headers
    ) -> Whole | Streamed:
        """Everything from parsing to the upstream's first answer; raises domain errors.

        A ``bytearray`` body is emptied once parsed: it may be tens of megabytes, and the
        parsed request and the upstream's copy of it are all that is needed from then on.
        """
        pipeline, outcome, principal = self._pipeline, self.outcome, self.principal
        assert principal is not None  # noqa: S101 - authenticate() comes first
        self.timing.read = time.perf_counter()
        self.watch.request(body)
        size = len(body)
        try:
            request = surface.parse(body, headers)
        finally:
            if isinstance(body, bytearray):
                body.clear()
        outcome.stream = request.stream
        await surface.prepare(request, (principal.kind, principal.id))
        catalog = pipeline.state.catalog
        outcome.model = catalog.get(request.model)  # known even if refused below
        model = catalog.usable(request.model, principal.access, say_forbidden=True)
        check_endpoint(surface.endpoint, model)
        check_capabilities(request, model)
        deadline, asked = deadline_of(headers, pipeline.router.rules.deadline, self.timing.start)
        budgets = pipeline.state.budgets
        hard = budgets.hard(principal.scopes, model.id)
        if hard:
            amount = worst_case(request, model, size, pipeline.reserve, self.started)
            self.reservation = await budgets.reserve(self.request_id, hard, amount, self.started)
        limits = principal.limits or pipeline.default_limits
        if limits.active:
            outcome.limited = True
            try:
                self.decision = await admit(
                    pipeline.limiter, principal.subject, limits, self.request_id, self.started
                )
            except RateLimited as refused:
                self.decision = refused.decision
                raise
        tried: list[Route] = []
        try:
            opened = await pipeline.router.open(
                surface,
                request,
                model,
                self.watch,
                self.timing,
                tried,
                request_id=self.request_id,
                deadline=deadline,
                caller_deadline=asked,
            )
        finally:
            if tried:  # the upstream that served, or the last that failed
                route = tried[-1]
                outcome.upstream = route.label
                outcome.provider = route.upstream.provider
                outcome.upstream_model = route.upstream.model
                outcome.upstream_name = route.name
                outcome.attempts = len(tried)
        self.route = opened.route
        if request.stream:
            try:
                translator = translated(lambda: surface.stream(request, opened.route))
            except BaseException:
                if opened.response is not None:
                    opened.response.abort()
                raise
            outcome.status, outcome.error_code = 200, None
            return Streamed(self, surface, request, opened, translator, principal)
        answer, outcome.usage = translated(
            lambda: surface.whole(request, opened.route, opened.first)
        )
        outcome.estimated = outcome.usage.estimated
        self.timing.end = self.timing.first
        outcome.status, outcome.error_code = 200, None
        await surface.answered(request, (principal.kind, principal.id))
        self.watch.answer(answer)
        return Whole(answer, surface.headers(request, opened.route))

    def failed(self, status: int, code: str | None) -> None:
        self.outcome.status, self.outcome.error_code = status, code

    def finish(self) -> None:
        """Record the request in the ledger, and its tokens against the caller's limits, and
        tell the watch it ended (once)."""
        if self._finished:
            return
        self._finished = True
        try:
            if self.route is not None:
                usage = self.outcome.usage
                self._pipeline.router.charge(  # tokens count when the request ends
                    self.route,
                    usage.prompt_tokens + usage.completion_tokens,
                    self.request_id,
                    time.time(),
                )
            self._record()
        finally:
            try:
                self.watch.finished(self)
            except Exception:  # a watch's bug must not fail the request
                log.exception("observing request %s failed", self.request_id)

    def _record(self) -> None:
        principal, outcome = self.principal, self.outcome
        if principal is None:
            return
        pipeline, usage, model = self._pipeline, outcome.usage, outcome.model
        cost, prices, price_id = 0, None, None
        if model is not None:  # the price in force when the request began, whole
            prices, price_id = model.price_at(self.started)
        if prices is not None and (usage.prompt_tokens or usage.completion_tokens):
            cost = to_pico(
                cost_usd(
                    prices,
                    usage.prompt_tokens,
                    usage.cached_tokens,
                    usage.completion_tokens,
                    usage.cache_write_tokens,
                )
            )
        record = self.record = UsageRecord(
            request_id=self.request_id,
            at=self.started,
            day=pipeline.state.budgets.calendar.day(self.started),
            caller_kind=principal.kind,
            caller_id=principal.id,
            model=model.id if model is not None else "",
            upstream=outcome.upstream,
            status=outcome.status,
            stream=outcome.stream,
            prompt_tokens=usage.prompt_tokens,
            cached_tokens=usage.cached_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            completion_tokens=usage.completion_tokens,
            cost_pusd=cost,
            latency_ms=(time.perf_counter() - self.timing.start) * 1000,
            estimated=outcome.estimated,
            error_code=outcome.error_code[:64] if outcome.error_code else None,
            team_id=principal.team,
            person=principal.person,
            attempts=outcome.attempts,
            price_id=price_id,
        )
        self._charging = pipeline.record(record, self.reservation)
        tokens = usage.prompt_tokens + usage.completion_tokens
        if outcome.limited and tokens:
            # counted when the request ends: a long stream's tokens are in the window now
            pipeline.limiter.charge(principal.subject, tokens, self.request_id, time.time())

    async def settled(self, timeout: float = 1.0) -> None:
        """Wait (bounded) until the spend :meth:`finish` recorded counts on every instance,
        so that a caller's next request, on any instance, sees it."""
        charging, self._charging = self._charging, None
        if charging is not None and not charging.done():
            await asyncio.wait({charging}, timeout=timeout)


class Streamed:
    """A streamed answer: :meth:`events` relays it; usage is settled however it ends."""

    def __init__(
        self,
        exchange: Exchange,
        surface: Surface[Any],
        request: ModelRequest,
        opened: Opened,
        translator: StreamTranslator,
        principal: Principal,
    ) -> None:
        self._caller = (principal.kind, principal.id)
        self._exchange = exchange
        self._surface = surface
        self._request = request
        self._opened = opened
        self._translator = translator

    @property
    def sequence(self) -> int:
        """The number of the next event, for APIs that number their events."""
        return self._translator.sequence

    @property
    def headers(self) -> Headers:
        """The surface's own response headers for this stream."""
        return self._surface.headers(self._request, self._opened.route)

    async def events(self) -> AsyncGenerator[bytes, None]:
        """The client's events. Raises :class:`StreamInterrupted` (after the events sent so
        far) if the upstream breaks; if the consumer stops early, the client left."""
        outcome, opened, translator = self._exchange.outcome, self._opened, self._translator
        response = opened.response
        assert response is not None  # noqa: S101 - a surface answers only whole requests itself
        ended = False
        watch = self._exchange.watch
        watch.streaming(True)
        try:
            events = translated(lambda: translator.feed(opened.first))
            if events:
                data = b"".join(events)
                watch.answer(data)
                yield data
            async for chunk in response.chunks():
                events = translated(lambda chunk=chunk: translator.feed(chunk))  # type: ignore[misc]
                if events:
                    data = b"".join(events)
                    watch.answer(data)
                    yield data
            tail = translated(translator.finish)
            ended = True
            outcome.error_code = translator.error_code
            if translator.error_code is None:
                await self._surface.answered(self._request, self._caller)
            data = b"".join(tail)
            watch.answer(data)
            yield data
        except (UpstreamError, UpstreamFailure) as exc:
            ended = True
            response.abort()
            outcome.error_code = StreamInterrupted.code
            log.warning(
                "upstream %s broke mid-stream: %s", opened.route.label, opened.route.scrub(str(exc))
            )
            raise StreamInterrupted(
                f"The upstream stream broke: {opened.route.scrub(str(exc))}"
            ) from None
        finally:
            watch.streaming(False)
            self._exchange.timing.end = time.perf_counter()
            if not ended:  # the consumer stopped: the client went away
                response.abort()
                outcome.error_code = "client_disconnected"
            outcome.usage = translator.usage or self._surface.estimate(self._request, translator)
            outcome.estimated = translator.usage is None or outcome.error_code is not None


DEADLINE_HEADER = b"x-quantized-deadline"


def deadline_of(headers: Headers, most: float, start: float) -> tuple[float, bool]:
    """When the request must have its first answer (a ``time.perf_counter()`` instant):
    ``most`` seconds after ``start``, or sooner if the caller's ``x-quantized-deadline``
    header (seconds, such as ``30`` or ``2.5``) asks for less; and whether it did."""
    seconds, asked = most, False
    for name, raw in headers:
        if name == DEADLINE_HEADER:
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not 0 < value < 1e9:
                raise InvalidRequestError(
                    "The x-quantized-deadline header must be a positive number of seconds.",
                    param="x-quantized-deadline",
                    code="invalid_deadline",
                )
            if value < seconds:
                seconds, asked = value, True
    return start + seconds, asked


def translated(work: Callable[[], T]) -> T:
    """Run a translation of upstream data; anything it cannot read is the upstream's fault."""
    try:
        return work()
    except QuantizedError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        log.warning("unreadable upstream data (%s: %s)", type(exc).__name__, exc)
        raise invalid_response("an answer of an unexpected shape") from None
