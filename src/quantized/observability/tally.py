"""What requests add to metrics, kept in plain lists until a scrape or a sample moves it
into prometheus-client's metrics.

prometheus-client takes a lock and checks its arguments on every ``inc`` and
``observe`` (about a microsecond each, and a chat request touches a dozen
series). Here a request adds to one row per (route, method, status) and one per
(model, provider, endpoint, status, code), and a flush adds each row's totals
with one call per series: the same values at a fraction of the cost
(``bench/instructions.py`` counts what metrics cost a request).

A histogram's pending observations are counts per bucket (:class:`Buckets`,
found by bisection) and a sum; :func:`flush_histogram` adds them to the child's
own buckets and sum. prometheus-client keeps a histogram's buckets
non-cumulative (an observation adds to the first bucket whose bound holds it),
so adding a bucket's count there equals observing each value;
``tests/observability/test_tally.py`` checks that against ``Histogram.observe``.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any


class Buckets:
    """Observations of one histogram series not yet flushed."""

    __slots__ = ("bounds", "total", "counts")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = (*bounds, float("inf"))
        self.total = 0.0
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        self.total += value
        self.counts[bisect_left(self.bounds, value)] += 1

    def flush_into(self, child: Any) -> None:
        """Add what was observed to a histogram's child (``metric.labels(...)``), and forget
        it."""
        if self.total:
            child._sum.inc(self.total)
        for bucket, count in zip(child._buckets, self.counts, strict=True):
            if count:
                bucket.inc(count)
        self.total = 0.0
        self.counts = [0] * len(self.bounds)


class HttpRow:
    """Requests answered on one (route, method, status) since the last flush."""

    __slots__ = ("count", "latency")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.count = 0
        self.latency = Buckets(bounds)


class ModelRow:
    """Model requests of one (model, provider, endpoint, status, code[, caller]) since the
    last flush: how many, the tokens by kind, the cost, and the upstream's timings."""

    __slots__ = ("count", "tokens", "cost", "upstream", "ttft")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.count = 0
        self.tokens = [0, 0, 0, 0]
        """prompt, cached, cache_write, completion"""
        self.cost = 0.0
        self.upstream = Buckets(bounds)
        self.ttft = Buckets(bounds)
