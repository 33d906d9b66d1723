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
        if retried:
            self._metrics.fell_back(route.label, reason)

    def streaming(self, relaying: bool) -> None:
        self._metrics.relaying += 1 if relaying else -1

    def finished(self, exchange: Exchange) -> None:
        metrics, outcome = self._metrics, exchange.outcome
        model = outcome.model.id if outcome.model is not None else ""
        caller = metrics.model_request(
            model=model,
            provider=outcome.provider,
            endpoint=outcome.endpoint,
            status=outcome.status,
            code=outcome.error_code,
            caller=exchange.caller,
        )
        record = exchange.record
        if record is not None and model:
            tokens = (
                record.prompt_tokens,
                record.cached_tokens,
                record.cache_write_tokens,
                record.completion_tokens,
            )
            # int / float: the correctly rounded dollars (picodollars below 2**53 are exact)
            metrics.billed(model, tokens, record.cost_pusd / 1e12, caller)
        timing = exchange.timing
        if outcome.status == 200 and timing.served and timing.end:
            ttft = timing.first - timing.served if outcome.stream and timing.first else None
            metrics.upstream(outcome.provider, model, timing.end - timing.served, ttft)


class MetricsObserver(Observer):
    def __init__(self, metrics: Metrics) -> None:
        self._watch = MetricsWatch(metrics)

    def watch(self, request_id: str, headers: Headers) -> Watch:
        return self._watch
