"""What requests add, flushed into prometheus-client's metrics, equals calling them directly."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from quantized.observability.buckets import LATENCY_BUCKETS
from quantized.observability.metrics import Metrics
from tests.utils.metrics import Samples, parse


def samples(exposition: bytes, prefix: str) -> Samples:
    return {
        key: value
        for key, value in parse(exposition.decode()).items()
        if key[0].startswith(prefix) and not key[0].endswith(("_created", "_in_flight"))
    }


def test_flushed_rows_equal_direct_calls() -> None:
    registry = CollectorRegistry()
    counter = Counter(
        "quantized_http_requests", "", ("route", "method", "status"), registry=registry
    )
    histogram = Histogram(
        "quantized_http_request_duration_seconds",
        "",
        ("route",),
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    metrics = Metrics()
    rng = random.Random(7)
    values = [rng.choice(LATENCY_BUCKETS) for _ in range(200)]  # bounds themselves: le holds
    values += [rng.expovariate(50) for _ in range(2000)] + [0.0, 500.0]
    for n, value in enumerate(values):
        route, status = f"/r{n % 2}", 200 + n % 3
        counter.labels(route, "GET", str(status)).inc()
        histogram.labels(route).observe(value)
        metrics.http(route, "GET", status, value)
        if n % 700 == 0:
            metrics.flush()  # flushes in the middle add up too
    metrics.flush()
    metrics.flush()  # nothing pending: nothing added
    direct = samples(generate_latest(registry), "quantized_http")
    found = samples(metrics.exposition(), "quantized_http")
    assert found.keys() == direct.keys()
    for key, value in direct.items():  # sums added in another order: equal to rounding
        assert found[key] == (pytest.approx(value) if key[0].endswith("_sum") else value), key
    bucket = (
        "quantized_http_request_duration_seconds_bucket",
        frozenset({("le", "0.0001"), ("route", "/r0")}),
    )
    assert direct[bucket] > 0
