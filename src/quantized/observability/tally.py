"""What requests add to metrics, kept in plain dicts until a scrape or a sample moves it
into prometheus-client's metrics (:meth:`Tally.flush`).

prometheus-client takes a lock and checks its arguments on every ``inc`` and
``observe`` (about a microsecond each; a chat request makes a dozen). Here a
request adds to a dict entry instead, and a flush adds each entry's total with
one call: the same values, a tenth of the cost (``bench/chat.py --observability``
measures what metrics cost a request). A histogram's pending observations are
kept as counts per bucket, found by bisection, and flushed into the child's own
buckets and sum — prometheus-client keeps a histogram's buckets non-cumulative
(an observation adds to the first bucket whose bound holds it), so adding a
bucket's count there equals observing each value. ``tests/observability`` checks
that equivalence against ``Histogram.observe``.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any


class Tally:
    __slots__ = ("_counts", "_histograms")

    def __init__(self) -> None:
        self._counts: dict[Any, float] = {}
        self._histograms: dict[Any, list[Any]] = {}

    def add(self, child: Any, amount: float = 1) -> None:
        """Add ``amount`` to a counter's child (``metric.labels(...)``)."""
        counts = self._counts
        counts[child] = counts.get(child, 0) + amount

    def observe(self, child: Any, value: float) -> None:
        """Observe ``value`` in a histogram's child."""
        pending = self._histograms.get(child)
        if pending is None:
            bounds = tuple(child._upper_bounds)
            pending = self._histograms[child] = [bounds, 0.0, [0] * len(bounds)]
        pending[1] += value
        pending[2][bisect_left(pending[0], value)] += 1

    def flush(self) -> None:
        """Move everything pending into the metrics."""
        counts, self._counts = self._counts, {}
        for child, amount in counts.items():
            child.inc(amount)
        histograms, self._histograms = self._histograms, {}
        for child, (_, total, buckets) in histograms.items():
            child._sum.inc(total)
            for bucket, count in zip(child._buckets, buckets, strict=True):
                if count:
                    bucket.inc(count)
