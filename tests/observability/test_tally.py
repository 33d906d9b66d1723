"""The tally adds to prometheus-client's metrics exactly what calling them directly adds."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from quantized.observability.metrics import LATENCY_BUCKETS
from quantized.observability.tally import Tally
from tests.utils.metrics import parse


def metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    counter = Counter("c", "c", ("kind",), registry=registry)
    histogram = Histogram("h", "h", ("route",), buckets=LATENCY_BUCKETS, registry=registry)
    return counter, histogram


def test_a_flushed_tally_equals_direct_calls() -> None:
    direct, tallied = CollectorRegistry(), CollectorRegistry()
    (counter, histogram), (counter2, histogram2) = metrics(direct), metrics(tallied)
    tally = Tally()
    rng = random.Random(7)
    values = [rng.choice(LATENCY_BUCKETS) for _ in range(200)]  # bounds themselves: le holds
    values += [rng.expovariate(50) for _ in range(2000)] + [0.0, 500.0]
    for n, value in enumerate(values):
        kind, route = f"k{n % 3}", f"/r{n % 2}"
        counter.labels(kind).inc(n % 5)
        histogram.labels(route).observe(value)
        tally.add(counter2.labels(kind), n % 5)
        tally.observe(histogram2.labels(route), value)
        if n % 700 == 0:
            tally.flush()  # flushes in the middle add up too
    tally.flush()
    tally.flush()  # nothing pending: nothing added
    expected, found = samples(direct), samples(tallied)
    assert found.keys() == expected.keys()
    for key, value in expected.items():  # sums added in another order: equal to rounding
        assert found[key] == (pytest.approx(value) if key[0] == "h_sum" else value), key
    assert expected[("h_bucket", frozenset({("le", "0.0001"), ("route", "/r0")}))] > 0


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        key: value
        for key, value in parse(generate_latest(registry).decode()).items()
        if not key[0].endswith("_created")
    }
