"""The gateway's Prometheus metrics: what requests record, and when it is exposed.

One :class:`Metrics` per app. Requests add to plain rows (``tally``): one per
(route, method, status) and one per model series, no lock, no prometheus-client
call. :meth:`Metrics.flush` moves the rows into prometheus-client's families
(``families``, imported at that moment): at each scrape in the worker that
answers it, and, under ``--workers N``, every second in every worker, so a
scrape of any worker sees every worker's totals within a second (multiprocess
mode). A gateway nobody scrapes never loads prometheus-client.

Values that are states rather than events (in-flight requests and streams,
ledger backlog, whether Redis and the database answer, catalog size, key count)
are sampled at the same moments (:meth:`Metrics.sample`).

Names and labels are the contract the shipped Grafana dashboard and operators'
alerts rely on; the README lists them. No label ever holds a caller's raw input:
routes are templates, models are catalog ids, and the caller label (off by
default) is bounded (:class:`CallerLabels`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quantized.observability.buckets import LATENCY_BUCKETS, UPSTREAM_BUCKETS
from quantized.observability.tally import HttpRow, ModelRow

if TYPE_CHECKING:
    from quantized.observability.families import Families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
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


_CODE = re.compile(r"[a-z0-9_.-]{1,48}")


def error_code_label(code: str | None) -> str:
    """An error code as a label: ours, or an upstream's that looks like one (a short
    identifier); anything else an upstream sent is ``upstream_rejected``."""
    if code is None:
        return ""
    return code if _CODE.fullmatch(code) else "upstream_rejected"


def refusal_reason(status: int, code: str | None) -> str | None:
    """Why a request was refused, for ``quantized_refusals_total``; ``None`` if it was not."""
    if status in (401, 403):
        return "auth"
    return REFUSALS.get(code or "")


class Metrics:
    """What one app's requests did, in plain rows, moved into prometheus-client's families
    (``quantized.observability.families``, imported then) by :meth:`flush`."""

    def __init__(
        self, *, multiprocess_dir: str | None = None, caller_limit: int | None = None
    ) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.callers = CallerLabels(caller_limit) if caller_limit else None
        self._families: Families | None = None
        self._sampled = (0, 0)
        self._http: dict[tuple[str, str, int], HttpRow] = {}
        self._models: dict[tuple[Any, ...], ModelRow] = {}
        self._rejected: dict[int, int] = {}
        self._fallbacks: dict[tuple[str, str], int] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self.active = 0
        """Requests being answered now (the in-flight gauge's value at the next sample)."""
        self.relaying = 0
        """Streams being relayed now."""

    @property
    def families(self) -> Families:
        if self._families is None:
            from quantized.observability.families import Families

            self._families = Families(
                multiprocess_dir=self.multiprocess_dir, callers=self.callers is not None
            )
        return self._families

    # Recording (see quantized.observability.tally) -------------------------------------

    def http(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request (``route`` is a template, never the raw path)."""
        key = (route, method, status)
        row = self._http.get(key)
        if row is None:
            row = self._http[key] = HttpRow(LATENCY_BUCKETS)
        row.count += 1
        row.latency.observe(seconds)

    def rejected(self, status: int) -> None:
        """A request the HTTP protocol refused before any route (408, 413, 414, 431, 503)."""
        self._rejected[status] = self._rejected.get(status, 0) + 1

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

    def attempt_failed(self, upstream: str, reason: str, *, retried: bool) -> None:
        """An upstream attempt failed; ``retried``: the next upstream was tried."""
        key = (upstream, reason)
        self._failures[key] = self._failures.get(key, 0) + 1
        if retried:
            self._fallbacks[key] = self._fallbacks.get(key, 0) + 1

    # Moving into the families --------------------------------------------------------

    def flush(self) -> None:
        """Move what requests added into prometheus-client's metrics."""
        families = self.families
        child = families.child
        for (route, method, status), http in self._http.items():
            if http.count:
                child(families.requests, route, method, str(status)).inc(http.count)
                http.latency.flush_into(child(families.latency, route))
                http.count = 0
        for key, row in self._models.items():
            if row.count:
                self._flush_model(families, key, row)
        rejected, self._rejected = self._rejected, {}
        for status, count in rejected.items():
            child(families.requests, "(protocol)", "", str(status)).inc(count)
        fallbacks, self._fallbacks = self._fallbacks, {}
        for (upstream, reason), count in fallbacks.items():
            child(families.fallbacks, upstream, reason).inc(count)
        failures, self._failures = self._failures, {}
        for (upstream, reason), count in failures.items():
            child(families.failures, upstream, reason).inc(count)

    @staticmethod
    def _flush_model(families: Families, key: tuple[Any, ...], row: ModelRow) -> None:
        child = families.child
        model, provider, endpoint, status, code, *caller = key
        labels = (model, provider, endpoint, str(status), code, *caller)
        child(families.model_requests, *labels).inc(row.count)
        reason = refusal_reason(status, code)
        if reason is not None:
            child(families.refusals, reason).inc(row.count)
        for kind, count in zip(TOKEN_KINDS, row.tokens, strict=True):
            if count:
                child(families.tokens, model, kind, *caller).inc(count)
        if row.cost:
            child(families.cost, model, *caller).inc(row.cost)
        if provider:
            row.upstream.flush_into(child(families.upstream_latency, provider, model))
            row.ttft.flush_into(child(families.ttft, provider, model))
        row.count, row.tokens, row.cost = 0, [0, 0, 0, 0], 0.0

    def sample(self, now: Snapshot) -> None:
        """Move what requests added into the metrics, and set the sampled values from
        ``now``; ledger counters move by what changed."""
        self.flush()
        families = self.families
        families.reap()
        families.in_flight.set(self.active)
        families.streams.set(self.relaying)
        families.ledger_pending.set(now.ledger_pending)
        written, dropped = self._sampled
        if now.ledger_written > written:
            families.ledger_written.inc(now.ledger_written - written)
        if now.ledger_dropped > dropped:
            families.ledger_dropped.inc(now.ledger_dropped - dropped)
        self._sampled = (max(written, now.ledger_written), max(dropped, now.ledger_dropped))
        families.database_up.set(1 if now.database_up else 0)
        if now.redis_up is not None:
            families.redis(now.redis_up)
        families.models.set(now.models)
        families.keys.set(now.keys)

    def exposition(self) -> bytes:
        """Every metric of the server, in the Prometheus text format (this process's
        additions moved in first; :meth:`sample` also sets the sampled values)."""
        self.flush()
        return self.families.exposition()

    def close(self) -> None:
        """This worker stops: what it added is kept, its live gauges no longer count
        (multiprocess mode)."""
        if self._families is not None or self.multiprocess_dir:
            self.flush()
            self.families.close()
