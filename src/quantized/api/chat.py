"""``POST /v1/chat/completions``: authenticate, check, route, answer, record.

A raw ASGI handler: the request body is read once (within the size limit),
decoded once, checked against the catalog before any upstream is called, and
the upstream's answer is passed on — whole, or as server-sent events. Every
request an authenticated caller makes is recorded in the ledger, including
failures and streams the client abandoned (then the completion tokens are the
chunks sent so far, flagged as estimated).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quantized.api.asgi import Receive, Scope, Send, error_reply, send_reply
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.catalog.model import Model
from quantized.errors import (
    MethodNotAllowedError,
    PayloadTooLargeError,
    QuantizedError,
    RateLimitError,
    UpstreamFailure,
)
from quantized.gateway.capabilities import check_capabilities, resolve_model
from quantized.gateway.client import UpstreamError
from quantized.gateway.providers.base import StreamTranslator, Usage, sse_event
from quantized.gateway.request import ChatRequest, parse_chat_request
from quantized.gateway.router import Opened
from quantized.limits import Decision
from quantized.usage.budgets import Today
from quantized.usage.cost import cost_usd, to_pico
from quantized.usage.ledger import UsageRecord

if TYPE_CHECKING:
    from quantized.runtime import Runtime

PATH = "/v1/chat/completions"
_JSON = (b"content-type", b"application/json")
_SSE = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


@dataclass
class Outcome:
    """What happened to one request, for the ledger."""

    status: int = 500
    stream: bool = False
    model: Model | None = None
    upstream: str | None = None
    usage: Usage = field(default_factory=Usage)
    estimated: bool = False
    error_code: str | None = None
    limited: bool = False
    rate_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class ClientGone(Exception):  # noqa: N818 - an event, not an error
    """The client disconnected before its request was read."""


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"request body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ChatEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._ids = itertools.count(1)
        self._id_prefix = "req_" + secrets.token_hex(6)
        self._day = Today()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.time()
        clock = time.perf_counter()
        request_id = f"{self._id_prefix}{next(self._ids):08x}"
        principal: Principal | None = None
        outcome = Outcome()
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowedError("Use POST for chat completions.", allow=("POST",))
            principal = await self._authenticate(scope)
            state = self._runtime.state
            body = await read_body(receive, self._runtime.settings.max_body_bytes)
            request = parse_chat_request(body)
            outcome.stream = request.stream
            model = outcome.model = resolve_model(state.catalog, request.model, principal.access)
            check_capabilities(request, model)
            await self._check_budget(principal, started)
            limits = principal.limits or self._runtime.default_limits
            if limits.active:
                outcome.limited = True
                decision = await self._runtime.limiter.acquire(
                    principal.subject, limits, request_id, started
                )
                outcome.rate_headers = rate_limit_headers(decision)
                if not decision.allowed:
                    raise RateLimitError(
                        f"Rate limit reached: {decision.reason}. Try again in "
                        f"{decision.retry_after:.1f}s.",
                        retry_after=decision.retry_after,
                    )
            if request.stream:
                await self._stream(request, model, outcome, receive, send, request_id)
            else:
                await self._complete(request, model, outcome, send, request_id)
        except ClientGone:
            outcome.status, outcome.error_code = 499, "client_disconnected"
        except QuantizedError as exc:
            reply = error_reply(exc)
            outcome.status, outcome.error_code = reply[0], exc.code
            reply[1].append((b"x-request-id", request_id.encode()))
            reply[1].extend(outcome.rate_headers)
            await send_reply(send, reply)
        finally:
            if principal is not None:
                self._record(principal, outcome, request_id, started, clock)

    async def _check_budget(self, principal: Principal, now: float) -> None:
        spend = self._runtime.state.spend
        if spend.budget(principal.kind, principal.id) is None:
            return
        shared = None
        if self._runtime.shared_spend is not None:
            shared = await self._runtime.shared_spend.spent(
                principal.kind, principal.id, self._day.of(now)
            )
        spend.check(principal.kind, principal.id, now, shared)

    async def _authenticate(self, scope: Scope) -> Principal:
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
        state = self._runtime.state
        try:
            return state.authenticate(authorization, time.time())
        except RefreshRequired as pending:
            await pending.source.refetch()
            return state.authenticate(authorization, time.time(), may_refresh=False)

    async def _complete(
        self, request: ChatRequest, model: Model, outcome: Outcome, send: Send, request_id: str
    ) -> None:
        opened = await self._runtime.router.open(request, model)
        outcome.upstream = opened.route.label
        body, outcome.usage = opened.route.provider.completion(request, opened.first or b"")
        outcome.status = 200
        headers = [
            _JSON,
            (b"content-length", b"%d" % len(body)),
            (b"x-request-id", request_id.encode()),
            *outcome.rate_headers,
        ]
        await send_reply(send, (200, headers, body))

    async def _stream(
        self,
        request: ChatRequest,
        model: Model,
        outcome: Outcome,
        receive: Receive,
        send: Send,
        request_id: str,
    ) -> None:
        opened = await self._runtime.router.open(request, model)
        outcome.upstream = opened.route.label
        translator = opened.route.provider.translator(request)
        outcome.status = 200
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_SSE, (b"x-request-id", request_id.encode()), *outcome.rate_headers],
            }
        )
        relay = asyncio.create_task(self._relay(opened, translator, send))
        gone = asyncio.create_task(_disconnected(receive))
        try:
            done, _ = await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
            if relay not in done:  # the client left: stop reading the upstream
                relay.cancel()
                opened.response.abort()
                outcome.estimated = True
                outcome.error_code = "client_disconnected"
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
            else:
                failure = relay.exception()
                if failure is not None:
                    outcome.error_code = "upstream_interrupted"
                    outcome.estimated = True
        finally:
            gone.cancel()
            outcome.usage = translator.usage or _estimate(request, translator)
            if translator.usage is None:
                outcome.estimated = True

    async def _relay(self, opened: Opened, translator: StreamTranslator, send: Send) -> None:
        try:
            events = translator.feed(opened.first or b"")
            if events:
                await send(
                    {"type": "http.response.body", "body": b"".join(events), "more_body": True}
                )
            async for chunk in opened.response.chunks():
                events = translator.feed(chunk)
                if events:
                    await send(
                        {"type": "http.response.body", "body": b"".join(events), "more_body": True}
                    )
            tail = translator.finish()
        except (UpstreamError, UpstreamFailure) as exc:
            opened.response.abort()
            tail = [
                sse_event(
                    {
                        "error": {
                            "message": f"The upstream stream broke: {exc}",
                            "type": "upstream_error",
                            "param": None,
                            "code": "upstream_interrupted",
                        }
                    }
                )
            ]
            await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})
            raise
        await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})

    def _record(
        self, principal: Principal, outcome: Outcome, request_id: str, started: float, clock: float
    ) -> None:
        usage = outcome.usage
        model = outcome.model
        cost = 0
        if model is not None and (usage.prompt_tokens or usage.completion_tokens):
            cost = to_pico(
                cost_usd(
                    model.cost, usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens
                )
            )
        record = UsageRecord(
            request_id=request_id,
            at=started,
            day=self._day.of(started),
            caller_kind=principal.kind,
            caller_id=principal.id,
            model=model.id if model is not None else "",
            upstream=outcome.upstream,
            status=outcome.status,
            stream=outcome.stream,
            prompt_tokens=usage.prompt_tokens,
            cached_tokens=usage.cached_tokens,
            completion_tokens=usage.completion_tokens,
            cost_pusd=cost,
            latency_ms=(time.perf_counter() - clock) * 1000,
            estimated=outcome.estimated,
            error_code=outcome.error_code,
        )
        self._runtime.record(record)
        tokens = usage.prompt_tokens + usage.completion_tokens
        if outcome.limited and tokens:
            self._runtime.spawn(
                self._runtime.limiter.charge(principal.subject, tokens, request_id, started)
            )


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _estimate(request: ChatRequest, translator: StreamTranslator) -> Usage:
    """Tokens when the upstream never reported them (the client left first): the prompt at
    about four characters a token, one completion token per chunk sent."""
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.messages)
    return Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=translator.chunks)


def _duration(seconds: float) -> bytes:
    """OpenAI's reset format: ``850ms``, ``12s``, ``1m30s``."""
    if seconds < 1:
        return b"%dms" % max(0, round(seconds * 1000))
    minutes, rest = divmod(round(seconds), 60)
    return b"%dm%ds" % (minutes, rest) if minutes else b"%ds" % rest


def rate_limit_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    """The ``x-ratelimit-*`` headers OpenAI sends, for the limits that apply."""
    limits = decision.limits
    headers: list[tuple[bytes, bytes]] = []
    if limits.rpm:
        headers += [
            (b"x-ratelimit-limit-requests", b"%d" % limits.rpm),
            (b"x-ratelimit-remaining-requests", b"%d" % decision.requests_remaining),
            (b"x-ratelimit-reset-requests", _duration(decision.requests_reset)),
        ]
    if limits.tpm:
        headers += [
            (b"x-ratelimit-limit-tokens", b"%d" % limits.tpm),
            (b"x-ratelimit-remaining-tokens", b"%d" % decision.tokens_remaining),
            (b"x-ratelimit-reset-tokens", _duration(decision.tokens_reset)),
        ]
    return headers
