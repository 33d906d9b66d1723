"""The metrics settings, in process: public or protected, off, and bounded caller labels."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantized.api.boundary import Boundary, RequestIds
from quantized.catalog.model import Upstream
from quantized.gateway.router import Route
from quantized.observability.metrics import (
    CallerLabels,
    Metrics,
    error_code_label,
    refusal_reason,
)
from quantized.settings import Settings
from tests.utils.catalogs import write_catalog
from tests.utils.inprocess import in_process
from tests.utils.metrics import parse, value
from tests.utils.processes import free_port
from tests.utils.stacks import PROVIDER_KEY, catalog
from tests.utils.upstreams import FakeUpstream

pytestmark = pytest.mark.anyio


@pytest.fixture
def upstream_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "db").mkdir()
    fake = FakeUpstream().start()
    monkeypatch.setenv("FAKE_KEY", PROVIDER_KEY)
    dead = f"http://127.0.0.1:{free_port()}"
    yield write_catalog(tmp_path / "catalog.yaml", catalog(fake.base_url, dead))
    fake.stop()


async def test_public_metrics_need_no_credential(tmp_path: Path) -> None:
    async with in_process(tmp_path, metrics_public=True) as running:
        answer = await running.client.get("/metrics")
        assert answer.status_code == 200
        samples = parse(answer.text)
        assert value(samples, "quantized_catalog_models") >= 30


async def test_metrics_off_serve_no_route_and_count_nothing(tmp_path: Path) -> None:
    async with in_process(tmp_path, metrics=False) as running:
        assert running.app.runtime.metrics is None
        answer = await running.client.get("/metrics", headers=running.headers())
        assert answer.status_code == 404
        assert (
            await running.client.get("/v1/models", headers=running.headers())
        ).status_code == 200


async def test_callers_are_labelled_only_when_asked_and_only_the_first_n(
    tmp_path: Path, upstream_catalog: Path
) -> None:
    async with in_process(
        tmp_path / "db", catalog_file=upstream_catalog, metrics_caller_labels=1
    ) as running:
        client, admin = running.client, running.headers()
        made = await client.post("/admin/v1/keys", json={"name": "second"}, headers=admin)
        second = made.json()["secret"]
        body = {"model": "fake/gpt", "messages": [{"role": "user", "content": "hi"}]}
        for key in (None, second, second):
            answer = await client.post(
                "/v1/chat/completions", json=body, headers=running.headers(key)
            )
            assert answer.status_code == 200
        caller = (await client.get("/v1/usage", headers=admin)).json()["caller"]
        samples = parse((await client.get("/metrics", headers=admin)).text)
        first = f"{caller['kind']}:{caller['id']}"
        tokens = "quantized_tokens_total"
        assert value(samples, tokens, model="fake/gpt", kind="prompt", caller=first) == 100
        assert value(samples, tokens, model="fake/gpt", kind="prompt", caller="other") == 200
        labelled = {
            dict(labels).get("caller")
            for (name, labels) in samples
            if name == "quantized_model_requests_total"
        }
        assert labelled == {first, "other"}


async def test_server_timing_splits_the_gateways_time_from_the_upstreams(
    tmp_path: Path, upstream_catalog: Path
) -> None:
    async with in_process(tmp_path / "db", catalog_file=upstream_catalog) as running:
        body = {"model": "fake/slowish", "messages": [{"role": "user", "content": "hi"}]}
        answer = await running.client.post(
            "/v1/chat/completions", json=body, headers=running.headers()
        )
        assert answer.status_code == 200
        timing = dict(
            part.strip().split(";dur=") for part in answer.headers["server-timing"].split(",")
        )
        assert set(timing) == {"gateway", "upstream"}
        assert float(timing["upstream"]) >= 400  # the upstream waits 0.4 s
        assert 0 < float(timing["gateway"]) < 100
        refused = await running.client.post(
            "/v1/messages",
            json={"model": "fake/gpt", "max_tokens": 5, "messages": []},
            headers={"x-api-key": "sk-quantized-wrong"},
        )
        assert refused.status_code == 401 and refused.json()["type"] == "error"
        assert refused.headers["server-timing"].startswith("gateway;dur=")


def test_caller_labels_are_bounded() -> None:
    labels = CallerLabels(2)
    assert [labels("key", "1"), labels("jwt", "ann"), labels("key", "3"), labels("key", "1")] == [
        "key:1",
        "jwt:ann",
        "other",
        "key:1",
    ]


def test_refusal_reasons() -> None:
    assert refusal_reason(401, "invalid_api_key") == "auth"
    assert refusal_reason(403, "model_not_allowed") == "auth"
    assert refusal_reason(429, "budget_exceeded") == "budget"
    assert refusal_reason(429, "rate_limit_exceeded") == "rate_limit"
    assert refusal_reason(400, "unsupported_feature") == "capability"
    assert refusal_reason(502, "upstream_error") is None


def test_each_app_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.http("/healthz", "GET", 200, 0.0001)
    assert b'route="/healthz"' in one.exposition()
    assert b'route="/healthz"' not in two.exposition()


def test_a_gateway_nobody_scrapes_never_loads_prometheus_client() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUANTIZED_", "PROMETHEUS"))}
    code = (
        "import sys; from quantized.app import create_app; app = create_app(); "
        "app.runtime.metrics.http('/healthz', 'GET', 200, 0.001); "
        "print('prometheus_client' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"


def test_labels_never_carry_an_upstreams_free_text() -> None:
    assert error_code_label(None) == ""
    assert error_code_label("rate_limit_exceeded") == "rate_limit_exceeded"
    assert error_code_label("context_length_exceeded") == "context_length_exceeded"
    assert error_code_label("Your request was bad: see https://x") == "upstream_rejected"
    assert error_code_label("x" * 100) == "upstream_rejected"


def test_an_upstream_label_drops_credentials_and_query() -> None:
    upstream = Upstream(
        provider="openai",
        base_url="https://user:s3cret@llm.example.com:8443/v1?api-key=abc",
        model="m",
        api_key_env=None,
    )
    route = Route(model=None, upstream=upstream, provider=None, api_key=None)  # type: ignore[arg-type]
    assert route.label == "openai https://llm.example.com:8443/v1 m"


def test_the_otlp_endpoint_is_read_as_opentelemetry_names_it(tmp_path: Path) -> None:
    base = Settings(_env_file=None, OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318/")
    assert base.otel_traces_endpoint() == "http://collector:4318/v1/traces"
    exact = Settings(
        _env_file=None,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://traces:9999/custom",
    )
    assert exact.otel_traces_endpoint() == "http://traces:9999/custom"
    assert Settings(_env_file=None).otel_traces_endpoint() is None
    dotenv = tmp_path / ".env"
    dotenv.write_text("OTEL_EXPORTER_OTLP_ENDPOINT=http://from-dotenv:4318\n")
    assert Settings(_env_file=dotenv).otel_traces_endpoint() == "http://from-dotenv:4318/v1/traces"


async def test_a_client_gone_before_any_answer_is_a_499_not_a_500() -> None:
    metrics = Metrics()
    boundary = Boundary(RequestIds(), metrics)

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None  # as ModelRoute does when the client left while sending its body

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
    await boundary(silent, scope, receive, send, route="/v1/chat/completions")
    samples = parse(metrics.exposition().decode())
    route = {"route": "/v1/chat/completions", "method": "POST"}
    assert value(samples, "quantized_http_requests_total", **route, status="499") == 1
    assert value(samples, "quantized_http_requests_total", **route, status="500") == 0


def test_live_gauges_of_dead_workers_are_forgotten(tmp_path: Path) -> None:
    """Under multiprocess mode (a process started with PROMETHEUS_MULTIPROC_DIR), a worker
    that died without closing leaves gauge files; the next sample removes them."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    code = (
        "import os; from quantized.observability.metrics import Metrics, Snapshot; "
        f"m = Metrics(multiprocess_dir={str(tmp_path)!r}); "
        "m.sample(Snapshot(0, 0, 0, True, None, 1, 1)); "
        "print(sorted(os.listdir())); print(os.getpid())"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    found = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    files, me = found.stdout.splitlines()
    assert f"gauge_livesum_{pid}.db" not in files  # the dead worker's live gauge: gone
    assert f"counter_{pid}.db" in files  # its counts stay
    assert f"gauge_livesum_{me}.db" in files  # the living worker's own
