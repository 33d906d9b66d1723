"""The HTTP adapter every model endpoint shares: ASGI in, the gateway pipeline, ASGI out.

A raw ASGI handler (no framework routing, no request objects): it checks the
method, hands the credential to the pipeline, reads the body once (within the
size limit and the process's body budget, see ``quantized.api.bodies``), runs
the pipeline with its endpoint's surface, and sends the answer — whole, or as
server-sent events while watching for the client to leave. Errors are written
in the endpoint's error shape; the exchange records every request of an
authenticated caller, whatever happened — a whole answer's before it is sent, so
the spend of one request counts before the caller can send the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from quantized.api.asgi import Receive, Scope, Send, send_reply
from quantized.api.bodies import BodyBudget, ClientGone, content_length, read_body
from quantized.api.boundary import REQUEST_ID
from quantized.api.errors import ErrorShape, Headers, error_reply, status_of
from quantized.errors import MethodNotAllowedError, QuantizedError
from quantized.gateway.pipeline import Exchange, Pipeline, Streamed, StreamInterrupted
from quantized.gateway.surfaces.base import Surface
from quantized.limits import Decision

_JSON = (b"content-type", b"application/json")
_SSE: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ModelRoute:
    """``POST`` one model API (its :class:`Surface`) through the pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        surface: Surface[Any],
        errors: ErrorShape,
        *,
        max_body_bytes: int,
        budget: BodyBudget,
    ) -> None:
        self.errors = errors
        self._pipeline = pipeline
        self._surface = surface
        self._limit = max_body_bytes
        self._budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        exchange = self._pipeline.begin(scope[REQUEST_ID].decode(), self._surface.endpoint, headers)
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowedError(f"Use POST for {scope['path']}.", allow=("POST",))
            await exchange.authenticate(credential(headers))
            body = await read_body(
                receive, self._limit, declared=content_length(headers), budget=self._budget
            )
            try:
                answer = await exchange.run(self._surface, body.data, headers)
            finally:
                body.release()
            if isinstance(answer, Streamed):
                await self._stream(answer, exchange, receive, send)
            else:
                headers = [_JSON, (b"content-length", b"%d" % len(answer.body)), *answer.headers]
                exchange.finish()  # spend counted before the caller can send the next request
                await exchange.settled()
                headers += rate_limit_headers(exchange.decision) + routing_headers(exchange)
                await send_reply(send, (200, [*headers, server_timing(exchange)], answer.body))
        except ClientGone:
            exchange.failed(499, "client_disconnected")
        except QuantizedError as exc:
            exchange.failed(status_of(exc), exc.code)
            extra = [
                *rate_limit_headers(exchange.decision),
                *routing_headers(exchange),
                server_timing(exchange),
            ]
            exchange.finish()
            await exchange.settled()
            await send_reply(send, error_reply(exc, self.errors, extra=extra))
        finally:
            exchange.finish()

    async def _stream(
        self, answer: Streamed, exchange: Exchange, receive: Receive, send: Send
    ) -> None:
        headers = [
            *_SSE,
            *answer.headers,
            *rate_limit_headers(exchange.decision),
            *routing_headers(exchange),
            server_timing(exchange, stream=True),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        relay = asyncio.ensure_future(self._relay(answer, exchange, send))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not relay.done():  # the client left: stop reading the upstream
                relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay

    async def _relay(self, answer: Streamed, exchange: Exchange, send: Send) -> None:
        events = answer.events()
        try:
            async for data in events:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        except StreamInterrupted as exc:
            error = self.errors.event(self.errors.error(exc, status_of(exc)), answer.sequence)
            exchange.finish()
            await exchange.settled()
            await send({"type": "http.response.body", "body": error, "more_body": False})
            return
        finally:
            await events.aclose()
        exchange.finish()  # as for whole answers: the spend counts before the stream ends
        await exchange.settled()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def server_timing(exchange: Exchange, *, stream: bool = False) -> tuple[bytes, bytes]:
    """``Server-Timing``: the gateway's own time, the time spent waiting for upstreams, and
    for streams the time to the upstream's first chunk, in milliseconds, up to now."""
    gateway, upstream, ttft = exchange.timing.milliseconds(time.perf_counter())
    value = b"gateway;dur=%.3f, upstream;dur=%.3f" % (gateway, upstream)
    if stream and ttft is not None:
        value += b", ttft;dur=%.3f" % ttft
    return (b"server-timing", value)


def credential(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The caller's credential: the ``Authorization`` header (the last one, as the fast path
    reads it), else ``x-api-key`` as a bearer token — the header Anthropic's SDK and
    Claude Code send when given an API key rather than a token."""
    found = api_key = None
    for name, value in headers:
        if name == b"authorization":
            found = value
        elif name == b"x-api-key":
            api_key = value
    return choose_credential(found, api_key)


def choose_credential(authorization: bytes | None, api_key: bytes | None) -> bytes | None:
    """The rule of :func:`credential`, for a caller that read the two headers itself."""
    if authorization is None and api_key is not None:
        return b"Bearer " + api_key
    return authorization


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _duration(seconds: float) -> bytes:
    """OpenAI's reset format: ``850ms``, ``12s``, ``1m30s``."""
    if seconds < 1:
        return b"%dms" % max(0, round(seconds * 1000))
    minutes, rest = divmod(round(seconds), 60)
    return b"%dm%ds" % (minutes, rest) if minutes else b"%ds" % rest


def routing_headers(exchange: Exchange) -> Headers:
    """``x-quantized-upstream`` (the upstream that answered, or last failed) and
    ``x-quantized-attempts`` (upstream calls made), once an upstream was tried."""
    outcome = exchange.outcome
    if not outcome.attempts or outcome.upstream_name is None:
        return []
    return [
        (b"x-quantized-upstream", outcome.upstream_name.encode()),
        (b"x-quantized-attempts", b"%d" % outcome.attempts),
    ]


def rate_limit_headers(decision: Decision | None) -> Headers:
    """The ``x-ratelimit-*`` headers OpenAI sends, for the limits that apply."""
    if decision is None:
        return []
    limits = decision.limits
    headers: Headers = []
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
