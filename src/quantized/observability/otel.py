"""Spans for model requests, with the OpenTelemetry SDK (imported only through ``tracing``).

One span per model request (kind ``SERVER``), continuing the client's
``traceparent``, and one child span per upstream attempt (kind ``CLIENT``) whose
context is passed upstream in ``traceparent``. Attributes follow the GenAI
semantic conventions (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.*``,
``gen_ai.response.finish_reasons``), with Quantized's own for the request id,
cost and caller. Prompts and completions are recorded only when
``QUANTIZED_TRACE_CONTENT`` is on. Spans are exported over OTLP/HTTP in batches,
off the event loop; the SDK reads its ``OTEL_*`` variables itself.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from quantized.gateway.observe import Observer, Watch
from quantized.gateway.streams import Headers
from quantized.usage.cost import from_pico

if TYPE_CHECKING:
    from quantized.gateway.pipeline import Exchange
    from quantized.gateway.router import Route

PROPAGATOR = TraceContextTextMapPropagator()
OPERATIONS = {"embeddings": "embeddings"}
"""``gen_ai.operation.name`` by endpoint; every other endpoint is ``chat``."""
_FINISH = re.compile(rb'"(?:finish_reason|stop_reason)"\s*:\s*"([A-Za-z_]{1,40})"')
_CONTENT_LIMIT = 64 * 1024


def _resource() -> Resource:
    """OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES as set, else service.name ``quantized``."""
    found = Resource.create()
    if str(found.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return found.merge(Resource({SERVICE_NAME: "quantized"}))
    return found


def _parent(headers: Headers) -> Context | None:
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name in (b"traceparent", b"tracestate")
    }
    return PROPAGATOR.extract(carrier) if carrier else None


class Tracing(Observer):
    def __init__(self, *, endpoint: str, content: bool) -> None:
        """``endpoint``: the URL spans are posted to (``…/v1/traces``)."""
        self.provider = TracerProvider(resource=_resource())
        exporter = OTLPSpanExporter(endpoint=endpoint)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("quantized")
        self.content = content

    def watch(self, request_id: str, endpoint: str, headers: Headers) -> Watch:
        return SpanWatch(self, request_id, OPERATIONS.get(endpoint, "chat"), headers)

    def close(self) -> None:
        """Export what is left (at shutdown)."""
        self.provider.shutdown()


class SpanWatch(Watch):
    __slots__ = ("_tracing", "_operation", "_span", "_attempt", "_finish", "_content")

    def __init__(self, tracing: Tracing, request_id: str, operation: str, headers: Headers) -> None:
        self._tracing = tracing
        self._operation = operation
        self._span: Span = tracing.tracer.start_span(
            "gateway request",
            context=_parent(headers),
            kind=SpanKind.SERVER,
            attributes={"quantized.request_id": request_id},
        )
        self._attempt: Span | None = None
        self._finish: list[str] = []
        self._content: list[bytes] | None = [] if tracing.content else None

    def request(self, body: bytes | bytearray) -> None:
        if self._content is not None:
            self._span.set_attribute(
                "quantized.request.body", bytes(body[:_CONTENT_LIMIT]).decode("utf-8", "replace")
            )

    def attempt(self, route: Route) -> Headers:
        upstream = route.upstream
        where = urlsplit(upstream.base_url)
        attributes: dict[str, str | int] = {
            "gen_ai.operation.name": self._operation,
            "gen_ai.provider.name": upstream.provider,
            "gen_ai.request.model": upstream.model,
            "server.address": where.hostname or "",
            "quantized.upstream": route.label,
        }
        with contextlib.suppress(ValueError):
            if where.port:
                attributes["server.port"] = where.port
        span = self._attempt = self._tracing.tracer.start_span(
            f"{self._operation} {upstream.model}",
            context=set_span_in_context(self._span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, context=set_span_in_context(span))
        return [(name.encode(), value.encode()) for name, value in carrier.items()]

    def attempt_failed(self, route: Route, reason: str, *, retried: bool) -> None:
        span, self._attempt = self._attempt, None
        if span is not None:
            span.set_attribute("error.type", reason)
            span.set_attribute("quantized.retried", retried)
            span.set_status(Status(StatusCode.ERROR, reason))
            span.end()

    def answer(self, data: bytes) -> None:
        self._finish += (found.decode() for found in _FINISH.findall(data))
        if self._content is not None and sum(map(len, self._content)) < _CONTENT_LIMIT:
            self._content.append(data)

    def finished(self, exchange: Exchange) -> None:
        span, outcome, record = self._span, exchange.outcome, exchange.record
        operation = self._operation
        model = outcome.model.id if outcome.model is not None else ""
        span.update_name(f"{operation} {model}".strip())
        span.set_attribute("gen_ai.operation.name", operation)
        span.set_attribute("quantized.endpoint", outcome.endpoint)
        span.set_attribute("http.response.status_code", outcome.status)
        if model:
            span.set_attribute("gen_ai.request.model", model)
        if outcome.provider:
            span.set_attribute("gen_ai.provider.name", outcome.provider)
        if outcome.upstream_model:
            span.set_attribute("gen_ai.response.model", outcome.upstream_model)
        if exchange.caller is not None:
            span.set_attribute("quantized.caller.kind", exchange.caller[0])
            span.set_attribute("quantized.caller.id", exchange.caller[1])
        if record is not None:
            span.set_attribute("gen_ai.usage.input_tokens", record.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", record.completion_tokens)
            span.set_attribute("quantized.usage.cached_tokens", record.cached_tokens)
            span.set_attribute("quantized.usage.cache_write_tokens", record.cache_write_tokens)
            span.set_attribute("quantized.cost_usd", str(from_pico(record.cost_pusd)))
            if record.price_id is not None:
                span.set_attribute("quantized.price_id", record.price_id)
            span.set_attribute("quantized.estimated", record.estimated)
        if self._finish:
            span.set_attribute("gen_ai.response.finish_reasons", list(dict.fromkeys(self._finish)))
        if self._content:
            text = b"".join(self._content)[:_CONTENT_LIMIT].decode("utf-8", "replace")
            span.set_attribute("quantized.response.body", text)
        failed = outcome.status >= 400 or outcome.error_code not in (None, "client_disconnected")
        if outcome.error_code:
            span.set_attribute("error.type", outcome.error_code)
        if self._attempt is not None:
            if failed:
                self._attempt.set_status(Status(StatusCode.ERROR, outcome.error_code or ""))
            self._attempt.end()
            self._attempt = None
        if failed:
            span.set_status(Status(StatusCode.ERROR, outcome.error_code or str(outcome.status)))
        span.end()
