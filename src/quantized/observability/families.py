"""The gateway's metric families, as prometheus-client objects.

Imported only when metrics are first moved in (a scrape, or the first sample):
requests record into plain rows (``quantized.observability.metrics``), so a
gateway nobody scrapes never loads prometheus-client, and its startup time and
memory stay as they were. In a single process the families live in the app's own
registry; under ``--workers N`` (``PROMETHEUS_MULTIPROC_DIR`` set before the
workers start, which is what turns on prometheus-client's multiprocess mode)
every worker writes them to files there and a scrape of any worker reads them
all.
"""

from __future__ import annotations

import logging
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

from quantized.observability.buckets import LATENCY_BUCKETS, UPSTREAM_BUCKETS

log = logging.getLogger("quantized.metrics")
_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _version() -> str:
    try:
        return metadata.version("quantized")
    except metadata.PackageNotFoundError:
        return "unknown"


class Families:
    """Every metric family of one app."""

    def __init__(self, *, multiprocess_dir: str | None, callers: bool) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        if multiprocess_dir and values.ValueClass is values.MutexValue:
            log.warning(
                "PROMETHEUS_MULTIPROC_DIR is set but prometheus-client was loaded without it "
                "(set it in the environment, not only in .env): /metrics shows this process"
            )
            multiprocess_dir = None
        self.multiprocess_dir = multiprocess_dir
        self.registry = None if multiprocess_dir else CollectorRegistry()
        self._children: dict[tuple[Any, ...], Any] = {}
        caller = ("caller",) if callers else ()
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
            "Failed upstream attempts after which another was made (a retry or the next "
            "upstream), by upstream and reason.",
            ("upstream", "reason"),
        )
        self.failures = new(
            Counter,
            "quantized_upstream_errors",
            "Upstream attempts that failed (fallen back from or not), by upstream and reason.",
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
        self.redis_up: Any = None
        """Made at the first sample that has Redis: absent when none is configured."""

    def _new(
        self, kind: Any, name: str, documentation: str, labels: tuple[str, ...] = (), **kw: Any
    ) -> Any:
        return kind(name, documentation, labels, registry=self.registry, **kw)

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered (prometheus-client checks and converts the
        labels and takes a lock on every call)."""
        key = (metric, *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def redis(self, up: bool) -> None:
        if self.redis_up is None:
            self.redis_up = self._new(
                Gauge,
                "quantized_redis_up",
                "Whether Redis answers (1) or not (0); absent when none is configured.",
                multiprocess_mode="livemin",
            )
        self.redis_up.set(1 if up else 0)

    def exposition(self) -> bytes:
        """Every metric of the server (every worker's), in the Prometheus text format."""
        if self.registry is not None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def reap(self) -> None:
        """Forget the live gauges of workers that died without closing (killed, or restarted
        by the supervisor): their counts stay, their in-flight values no longer do."""
        if not self.multiprocess_dir:
            return
        for path in Path(self.multiprocess_dir).glob("gauge_live*.db"):
            found = _LIVE_FILE.fullmatch(path.name)
            if found is None:
                continue
            pid = int(found.group(1))
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                multiprocess.mark_process_dead(pid, self.multiprocess_dir)  # type: ignore[no-untyped-call]
            except PermissionError:
                pass  # alive, another user's: not ours to judge

    def close(self) -> None:
        """This worker stops: its live gauges no longer count (multiprocess mode)."""
        if self.multiprocess_dir:
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
