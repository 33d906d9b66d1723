"""A real Prometheus server scrapes a real gateway: the admin bearer key opens the protected
/metrics (and a job without it is refused), what it stores is what known requests did, and every
query of the shipped Grafana dashboard runs in it and finds series.

Needs Debian's ``prometheus`` package (/usr/bin/prometheus): skipped without it, unless
CI_REQUIRE_PROMETHEUS=1 (CI), where its absence fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.observability.test_dashboard import (
    load_dashboard,
    queries,
    send_traffic,
    start_redis_stack,
    variable_queries,
)
from tests.utils.processes import free_port, wait_until
from tests.utils.stacks import Stack

PROMETHEUS = Path("/usr/bin/prometheus")
JOB = "quantized"
ANONYMOUS = "quantized-anonymous"
"""A second job on the same target, without the credential: its scrapes are refused."""
CHATS = 3
"""Chats on fake/gpt, each billed 100 prompt, 40 cached and 20 completion tokens."""
GRAFANA = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@dataclass
class Prometheus:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "success", (promql, body)
        assert body["data"]["resultType"] == "vector", (promql, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The single value of an instant query; ``None`` while it has no series."""
        result = self.query(promql)
        assert len(result) <= 1, (promql, result)
        return float(result[0]["value"][1]) if result else None

    def settles(self, promql: str, expected: float, timeout: float = 30) -> None:
        """Poll until ``promql`` equals ``expected`` (the scrapes are a second apart)."""
        seen: list[float | None] = []

        def probe() -> bool:
            seen.append(self.value(promql))
            return seen[-1] == expected

        try:
            wait_until(probe, timeout=timeout, interval=0.2)
        except AssertionError:
            raise AssertionError(
                f"{promql} is {seen[-1]}, not {expected}\n{self.log()[-3000:]}"
            ) from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def prometheus_binary() -> Path:
    if PROMETHEUS.is_file() and os.access(PROMETHEUS, os.X_OK):
        return PROMETHEUS
    if os.environ.get("CI_REQUIRE_PROMETHEUS") == "1":
        pytest.fail(
            f"{PROMETHEUS} is missing and CI_REQUIRE_PROMETHEUS=1: install Debian's "
            "prometheus package (apt-get install prometheus)",
            pytrace=False,
        )
    pytest.skip(f"{PROMETHEUS} is not installed (Debian package prometheus)")


def start_prometheus(binary: Path, workdir: Path, target: str, admin_key: str) -> Prometheus:
    """Prometheus scraping ``target``'s /metrics every second, with and without the key."""
    job: dict[str, Any] = {
        "job_name": JOB,
        "metrics_path": "/metrics",
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "authorization": {"type": "Bearer", "credentials": admin_key},
        "static_configs": [{"targets": [target]}],
    }
    anonymous = {k: v for k, v in job.items() if k != "authorization"} | {"job_name": ANONYMOUS}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [job, anonymous],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    prometheus = Prometheus(process, f"http://127.0.0.1:{port}", log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited early:\n{prometheus.log()}")
        try:
            return httpx.get(f"{prometheus.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, timeout=30, interval=0.1)
    except BaseException:
        prometheus.stop()
        raise
    return prometheus


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Prometheus]]:
    """A gateway (with Redis) after known traffic, and a Prometheus scraping it."""
    binary = prometheus_binary()
    stack = start_redis_stack(tmp_path_factory.mktemp("scraped"))
    prometheus: Prometheus | None = None
    try:
        prometheus = start_prometheus(
            binary,
            tmp_path_factory.mktemp("prometheus"),
            f"127.0.0.1:{stack.gateway.port}",
            stack.admin_key,
        )
        send_traffic(stack, chats=CHATS)
        yield stack, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        stack.gateway.stop()
        stack.upstream.stop()


def test_prometheus_scrapes_metrics_with_the_admin_bearer_key(
    scraped: tuple[Stack, Prometheus],
) -> None:
    stack, prometheus = scraped
    prometheus.settles(f'up{{job="{JOB}"}}', 1)
    prometheus.settles(f'up{{job="{ANONYMOUS}"}}', 0)
    answer = httpx.get(f"{prometheus.url}/api/v1/targets", timeout=10)
    targets = {t["labels"]["job"]: t for t in answer.json()["data"]["activeTargets"]}
    assert targets[JOB]["health"] == "up" and targets[JOB]["lastError"] == ""
    assert targets[JOB]["scrapeUrl"] == f"{stack.gateway.url}/metrics"
    assert targets[ANONYMOUS]["health"] == "down"
    assert "401" in targets[ANONYMOUS]["lastError"], targets[ANONYMOUS]


def test_prometheus_stores_what_known_requests_did(scraped: tuple[Stack, Prometheus]) -> None:
    _, prometheus = scraped
    gpt = f'job="{JOB}", model="fake/gpt"'
    prometheus.settles(f'sum(quantized_model_requests_total{{{gpt}, status="200"}})', CHATS)
    for kind, each in (("prompt", 100), ("cached", 40), ("completion", 20)):
        prometheus.settles(f'sum(quantized_tokens_total{{{gpt}, kind="{kind}"}})', each * CHATS)
    prometheus.settles(f'sum(quantized_refusals_total{{job="{JOB}", reason="auth"}})', 1)
    prometheus.settles(f'sum(quantized_refusals_total{{job="{JOB}", reason="capability"}})', 1)
    streamed = f'job="{JOB}", model="fake/claude", provider="anthropic"'
    ttft = "quantized_upstream_time_to_first_token_seconds_count"
    prometheus.settles(f"sum({ttft}{{{streamed}}})", 1)
    prometheus.settles(f'sum(quantized_upstream_fallbacks_total{{job="{JOB}", reason="500"}})', 1)
    prometheus.settles(f'quantized_database_up{{job="{JOB}"}}', 1)
    prometheus.settles(f'quantized_redis_up{{job="{JOB}"}}', 1)


def test_every_dashboard_query_finds_series_in_prometheus(
    scraped: tuple[Stack, Prometheus],
) -> None:
    stack, prometheus = scraped
    prometheus.settles(f'sum(quantized_model_requests_total{{job="{JOB}"}})', CHATS + 5)
    dashboard = load_dashboard()
    variables = {"$job": JOB, "$instance": f"127.0.0.1:{stack.gateway.port}", **GRAFANA}
    checked = 0
    for query in queries(dashboard):
        promql = query.expr
        for name in sorted(variables, key=len, reverse=True):
            promql = promql.replace(name, variables[name])
        assert "$" not in promql, promql

        def found(promql: str = promql) -> bool:
            return bool(prometheus.query(promql))

        try:
            wait_until(found, timeout=20, interval=0.2)
        except AssertionError:
            raise AssertionError(f"{query.panel!r}: no series for {promql}") from None
        checked += 1
    assert checked >= 20
    # The job and instance variables: Grafana's label_values(metric, label).
    assert variable_queries(dashboard) == {
        "job": "label_values(quantized_build_info, job)",
        "instance": 'label_values(quantized_build_info{job=~"$job"}, instance)',
    }
    for label, match, expected in (
        ("job", "quantized_build_info", JOB),
        ("instance", f'quantized_build_info{{job=~"{JOB}"}}', variables["$instance"]),
    ):
        answer = httpx.get(
            f"{prometheus.url}/api/v1/label/{label}/values", params={"match[]": match}, timeout=10
        )
        assert answer.json()["data"] == [expected], answer.text
