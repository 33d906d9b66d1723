"""The gateway's Prometheus metrics, kept with ``prometheus-client``.

One :class:`Metrics` per app. In a single process its metrics live in the app's
own registry; under ``--workers N`` every worker writes them to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, which the
server turns on before it starts the workers) and a scrape of any worker reads
them all, so every scrape sees the totals of the whole server.

Values that are states rather than events (ledger backlog, whether Redis and the
database answer, catalog size, key count) are sampled: at each scrape in the
worker that answers it, and every second in every worker under multiprocess mode
(:meth:`Metrics.sample`).

Names and labels are the contract the shipped Grafana dashboard and operators'
alerts rely on; the README lists them. No label ever holds a caller's raw input:
routes are templates, models are catalog ids, and the caller label (off by
default) is bounded (:class:`CallerLabels`).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from quantized.observability.tally import HttpRow, ModelRow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)
"""Seconds; the first four resolve the sub-millisecond answers of the listing."""
UPSTREAM_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
OTHER_CALLERS = "other"
TOKEN_KINDS = ("prompt", "cached", "cache_write", "completion")
REFUSALS = {
    "budget_exceeded": "budget",
    "rate_limit_exceeded": "rate_limit",
    "unsupported_endpoint": "capability",
    "unsupported_modality": "capability",
    "unsupported_feature": "capability",
}
"""Error codes that are a refusal, by reason (401 and 403 are ``auth``)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The sampled state of one process (see :meth:`Metrics.sample`)."""

    ledger_pending: int
    ledger_written: int
    ledger_dropped: int
    database_up: bool
    redis_up: bool | None
    """``None`` when no Redis is configured."""
    models: int
    keys: int


class CallerLabels:
    """The ``caller`` label when callers are labelled: the first ``limit`` callers seen get
    their own value (``key:<id>``, ``jwt:<subject>``), every later one ``other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, kind: str, caller_id: str) -> str:
        if not caller_id:
            return ""
        label = f"{kind}:{caller_id}"[:200]
        if label in self._seen:
            return label
        if len(self._seen) >= self._limit:
            return OTHER_CALLERS
        self._seen.add(label)
        return label


def _version() -> str:
    try:
        return metadata.version("quantized")
    except metadata.PackageNotFoundError:
        return "unknown"


def refusal_reason(status: int, code: str | None) -> str | None:
    """Why a request was refused, for ``quantized_refusals_total``; ``None`` if it was not."""
    if status in (401, 403):
        return "auth"
    return REFUSALS.get(code or "")


class Metrics:
    """Every metric of one app, and what records them."""

    def __init__(
        self, *, multiprocess_dir: str | None = None, caller_limit: int | None = None
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        self.multiprocess_dir = multiprocess_dir
        self.registry: CollectorRegistry | None = None if multiprocess_dir else CollectorRegistry()
        self.callers = CallerLabels(caller_limit) if caller_limit else None
        caller = ("caller",) if self.callers else ()
        new = self._new
        self.requests = new(
            Counter,
            "quantized_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"),
        )
        self.latency = new(
            Histogram,
            "quantized_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ("route",),
            buckets=LATENCY_BUCKETS,
        )
        self.in_flight = new(
            Gauge,
            "quantized_http_requests_in_flight",
            "Requests being answered now.",
            multiprocess_mode="livesum",
        )
        self.streams = new(
            Gauge,
            "quantized_streams_in_flight",
            "Streamed model answers being relayed now.",
            multiprocess_mode="livesum",
        )
        self.model_requests = new(
            Counter,
            "quantized_model_requests",
            "Model API requests by model, upstream provider, API, status and error code.",
            ("model", "provider", "endpoint", "status", "code", *caller),
        )
        self.upstream_latency = new(
            Histogram,
            "quantized_upstream_duration_seconds",
            "Time from sending a request upstream to the end of its answer (served requests).",
            ("provider", "model"),
            buckets=UPSTREAM_BUCKETS,
        )
        self.ttft = new(
            Histogram,
            "quantized_upstream_time_to_first_token_seconds",
            "Time from sending a streamed request upstream to its first chunk.",
            ("provider", "model"),
            buckets=UPSTREAM_BUCKETS,
        )
        self.fallbacks = new(
            Counter,
            "quantized_upstream_fallbacks",
            "Times an upstream failed and the next one was tried, by upstream and reason.",
            ("upstream", "reason"),
        )
        self.tokens = new(
            Counter,
            "quantized_tokens",
            "Tokens billed, by model and kind (prompt, cached, cache_write, completion).",
            ("model", "kind", *caller),
        )
        self.cost = new(
            Counter,
            "quantized_cost_usd",
            "Spend in US dollars at catalog prices, by model.",
            ("model", *caller),
        )
        self.refusals = new(
            Counter,
            "quantized_refusals",
            "Model requests refused before any upstream, by reason "
            "(auth, budget, rate_limit, capability).",
            ("reason",),
        )
        self.ledger_pending = new(
            Gauge,
            "quantized_ledger_pending_rows",
            "Usage records waiting to be written to the ledger.",
            multiprocess_mode="livesum",
        )
        self.ledger_written = new(
            Counter, "quantized_ledger_rows_written", "Usage records written to the ledger."
        )
        self.ledger_dropped = new(
            Counter,
            "quantized_ledger_rows_dropped",
            "Usage records dropped (buffer full, or refused by the database).",
        )
        self.database_up = new(
            Gauge,
            "quantized_database_up",
            "Whether the last look at the database succeeded (1) or not (0).",
            multiprocess_mode="livemin",
        )
        self.redis_up: Any = None
        """Made at the first sample that has Redis: absent when none is configured."""
        self.models = new(
            Gauge,
            "quantized_catalog_models",
            "Active models in the catalog.",
            multiprocess_mode="livemax",
        )
        self.keys = new(Gauge, "quantized_api_keys", "API keys known.", multiprocess_mode="livemax")
        build = new(
            Gauge,
            "quantized_build_info",
            "The running version (the value is always 1).",
            ("version", "python"),
            multiprocess_mode="livemax",
        )
        build.labels(_version(), platform.python_version()).set(1)
        self._children: dict[tuple[Any, ...], Any] = {}
        self._sampled = (0, 0)
        self._http: dict[tuple[str, str, int], HttpRow] = {}
        self._models: dict[tuple[Any, ...], ModelRow] = {}
        self._counts: dict[Any, float] = {}
        """Rare events (fallbacks, protocol refusals), by the child they count in."""
        self.active = 0
        """Requests being answered now (the in-flight gauge's value at the next sample)."""
        self.relaying = 0
        """Streams being relayed now."""

    def _new(
        self, kind: Any, name: str, documentation: str, labels: tuple[str, ...] = (), **kw: Any
    ) -> Any:
        return kind(name, documentation, labels, registry=self.registry, **kw)

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: prometheus-client checks and converts the
        labels and takes a lock on every call, ten times what a dict lookup costs."""
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # Recording (see quantized.observability.tally) -------------------------------------

    def http(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request (``route`` is a template, never the raw path)."""
        row = self._http.get((route, method, status))
        if row is None:
            row = self._http[(route, method, status)] = HttpRow(LATENCY_BUCKETS)
        row.count += 1
        row.latency.observe(seconds)

    def rejected(self, status: int) -> None:
        """A request the HTTP protocol refused before any route (408, 413, 414, 431, 503)."""
        self._add(self._child(self.requests, "(protocol)", "", str(status)))

    def model_request(
        self,
        labels: tuple[str, str, str, int, str],
        caller: tuple[str, str] | None,
    ) -> ModelRow:
        """Count one model request of (model, provider, endpoint, status, code); returns its
        row, for the caller to add tokens, cost and timings to."""
        key: tuple[Any, ...] = labels
        if self.callers is not None:
            key += (self.callers(*caller) if caller else "",)
        row = self._models.get(key)
        if row is None:
            row = self._models[key] = ModelRow(UPSTREAM_BUCKETS)
        row.count += 1
        return row

    def fell_back(self, upstream: str, reason: str) -> None:
        self._add(self._child(self.fallbacks, upstream, reason))

    def _add(self, child: Any, amount: float = 1) -> None:
        self._counts[child] = self._counts.get(child, 0) + amount

    def flush(self) -> None:
        """Move what requests added into prometheus-client's metrics."""
        child = self._child
        for (route, method, status), http in self._http.items():
            if http.count:
                child(self.requests, route, method, str(status)).inc(http.count)
                http.latency.flush_into(child(self.latency, route))
                http.count = 0
        for key, row in self._models.items():
            if not row.count:
                continue
            model, provider, endpoint, answered, code, *caller = key
            labels = (model, provider, endpoint, str(answered), code, *caller)
            child(self.model_requests, *labels).inc(row.count)
            reason = refusal_reason(answered, code)
            if reason is not None:
                child(self.refusals, reason).inc(row.count)
            for kind, count in zip(TOKEN_KINDS, row.tokens, strict=True):
                if count:
                    child(self.tokens, model, kind, *caller).inc(count)
            if row.cost:
                child(self.cost, model, *caller).inc(row.cost)
            if provider:
                row.upstream.flush_into(child(self.upstream_latency, provider, model))
                row.ttft.flush_into(child(self.ttft, provider, model))
            row.count, row.tokens, row.cost = 0, [0, 0, 0, 0], 0.0
        counts, self._counts = self._counts, {}
        for counter, amount in counts.items():
            counter.inc(amount)

    def sample(self, now: Snapshot) -> None:
        """Move what requests added into the metrics, and set the sampled values from
        ``now``; ledger counters move by what changed."""
        self.flush()
        self.in_flight.set(self.active)
        self.streams.set(self.relaying)
        self.ledger_pending.set(now.ledger_pending)
        written, dropped = self._sampled
        if now.ledger_written > written:
            self.ledger_written.inc(now.ledger_written - written)
        if now.ledger_dropped > dropped:
            self.ledger_dropped.inc(now.ledger_dropped - dropped)
        self._sampled = (max(written, now.ledger_written), max(dropped, now.ledger_dropped))
        self.database_up.set(1 if now.database_up else 0)
        if now.redis_up is not None:
            if self.redis_up is None:
                self.redis_up = self._new(
                    Gauge,
                    "quantized_redis_up",
                    "Whether Redis answers (1) or not (0); absent when none is configured.",
                    multiprocess_mode="livemin",
                )
            self.redis_up.set(1 if now.redis_up else 0)
        self.models.set(now.models)
        self.keys.set(now.keys)

    # Exposition ----------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every metric of the server, in the Prometheus text format (this process's
        additions moved in first; :meth:`sample` also sets the sampled values)."""
        self.flush()
        if self.registry is not None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def close(self) -> None:
        """This worker stops: what it added is kept, its live gauges no longer count
        (multiprocess mode)."""
        self.flush()
        if self.multiprocess_dir:
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
