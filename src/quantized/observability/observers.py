"""The pipeline's observers (``quantized.gateway.observe``) that feed metrics and traces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quantized.gateway.observe import Observer, Watch
from quantized.gateway.streams import Headers
from quantized.observability.metrics import Metrics

if TYPE_CHECKING:
    from quantized.gateway.pipeline import Exchange
    from quantized.gateway.router import Route


class MetricsWatch(Watch):
    """Counts what every request did; it keeps nothing per request, so one serves all."""

    __slots__ = ("_metrics",)

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def attempt_failed(self, route: Route, reason: str, *, retried: bool) -> None:
        self._metrics.attempt_failed(route.label, reason, retried=retried)

    def streaming(self, relaying: bool) -> None:
        self._metrics.relaying += 1 if relaying else -1

    def finished(self, exchange: Exchange) -> None:
        metrics, outcome = self._metrics, exchange.outcome
        model = outcome.model.id if outcome.model is not None else ""
        labels = (
            model,
            outcome.provider,
            outcome.endpoint,
            outcome.status,
            outcome.error_code or "",
        )
        row = metrics.model_request(labels, exchange.caller)
        record = exchange.record
        if record is not None and model:
            tokens = row.tokens
            tokens[0] += record.prompt_tokens
            tokens[1] += record.cached_tokens
            tokens[2] += record.cache_write_tokens
            tokens[3] += record.completion_tokens
            # int / float: the correctly rounded dollars (picodollars below 2**53 are exact)
            row.cost += record.cost_pusd / 1e12
        timing = exchange.timing
        if outcome.status == 200 and timing.served and timing.end:
            row.upstream.observe(timing.end - timing.served)
            if outcome.stream and timing.first:
                row.ttft.observe(timing.first - timing.served)


class MetricsObserver(Observer):
    def __init__(self, metrics: Metrics) -> None:
        self._watch = MetricsWatch(metrics)

    def watch(self, request_id: str, endpoint: str, headers: Headers) -> Watch:
        return self._watch
