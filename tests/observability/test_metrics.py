"""``GET /metrics`` of a real server: parsed with prometheus-client's parser, counters moving by
exactly what known requests did, and one view of the totals under ``--workers 2``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantized.usage.cost import from_pico
from tests.utils.keys import create_key, key_works
from tests.utils.metrics import Samples, scrape, total, value
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack, start_stack

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hello"}]
LISTING = {"route": "/v1/models", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("metrics"))
    try:
        yield running
    finally:
        running.gateway.stop()
        running.upstream.stop()


def metrics(stack: Stack) -> Samples:
    return scrape(stack.gateway.url, stack.admin_key)


def chat(stack: Stack, model: str, key: str | None = None, **extra: Any) -> httpx.Response:
    with stack.client(key) as client:
        return client.post(CHAT, json={"model": model, "messages": HELLO, **extra})


def model_requests(samples: Samples, model: str, status: str, code: str = "") -> float:
    return value(
        samples,
        "quantized_model_requests_total",
        model=model,
        provider="openai" if model != "" else "",
        endpoint="chat",
        status=status,
        code=code,
    )


def test_a_chat_adds_exactly_its_request_tokens_and_cost(stack: Stack) -> None:
    before = metrics(stack)
    answer = chat(stack, "fake/gpt")
    assert answer.status_code == 200
    row = stack.row(answer.headers["x-request-id"])
    after = metrics(stack)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert model_requests(after, "fake/gpt", "200") - model_requests(before, "fake/gpt", "200") == 1
    tokens = "quantized_tokens_total"
    assert moved(tokens, model="fake/gpt", kind="prompt") == 100
    assert moved(tokens, model="fake/gpt", kind="cached") == 40
    assert moved(tokens, model="fake/gpt", kind="completion") == 20
    cost = Decimal(str(moved("quantized_cost_usd_total", model="fake/gpt")))
    assert cost.quantize(Decimal("1e-12")) == from_pico(row["cost_pusd"]) == Decimal("0.0004")
    route = {"route": CHAT, "method": "POST", "status": "200"}
    assert moved("quantized_http_requests_total", **route) == 1
    assert moved("quantized_http_request_duration_seconds_count", route=CHAT) == 1
    upstream = {"provider": "openai", "model": "fake/gpt"}
    assert moved("quantized_upstream_duration_seconds_count", **upstream) == 1
    assert moved("quantized_upstream_time_to_first_token_seconds_count", **upstream) == 0
    assert value(after, "quantized_http_requests_in_flight") == 1  # the scrape itself


def test_a_stream_counts_its_time_to_first_token_and_leaves_no_stream_in_flight(
    stack: Stack,
) -> None:
    before = metrics(stack)
    with stack.client() as client:
        body = {"model": "fake/gpt", "messages": HELLO, "stream": True}
        with client.stream("POST", CHAT, json=body) as answer:
            assert answer.status_code == 200
            timing = answer.headers["server-timing"]
            b"".join(answer.iter_bytes())
    assert "ttft;dur=" in timing
    after = metrics(stack)
    upstream = {"provider": "openai", "model": "fake/gpt"}
    name = "quantized_upstream_time_to_first_token_seconds_count"
    assert value(after, name, **upstream) - value(before, name, **upstream) == 1
    assert value(after, "quantized_streams_in_flight") == 0
    assert (
        value(after, "quantized_tokens_total", model="fake/gpt", kind="completion")
        - value(before, "quantized_tokens_total", model="fake/gpt", kind="completion")
        == 20
    )


def test_refusals_are_counted_by_reason(stack: Stack) -> None:
    env = stack.gateway.env
    limited = create_key(env, "--name", "metrics-rpm", "--models", "fake/*", "--rpm", "1")
    wait_until(lambda: key_works(stack.gateway, limited), timeout=5)
    before = metrics(stack)
    assert chat(stack, "fake/gpt", "sk-quantized-not-a-real-key").status_code == 401
    image = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    with stack.client() as client:
        refused = client.post(
            CHAT, json={"model": "fake/text-only", "messages": [{"role": "user", "content": image}]}
        )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unsupported_modality"
    assert chat(stack, "fake/gpt", limited).status_code == 200
    assert chat(stack, "fake/gpt", limited).status_code == 429
    after = metrics(stack)

    def refusals(reason: str) -> float:
        name = "quantized_refusals_total"
        return value(after, name, reason=reason) - value(before, name, reason=reason)

    assert (refusals("auth"), refusals("capability"), refusals("rate_limit")) == (1, 1, 1)
    assert refusals("budget") == 0
    unknown = {"model": "", "provider": "", "endpoint": "chat", "status": "401"}
    assert total(after, "quantized_model_requests_total", **unknown) >= 1


def test_fallbacks_and_upstream_errors_are_counted_by_upstream_and_reason(stack: Stack) -> None:
    before = metrics(stack)
    assert chat(stack, "fake/fallback").status_code == 200
    assert chat(stack, "fake/down").status_code == 502
    after = metrics(stack)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    failing = {"upstream": f"openai {stack.upstream.base_url}/v1 fail-500", "reason": "500"}
    assert moved("quantized_upstream_fallbacks_total", **failing) == 1
    assert moved("quantized_upstream_errors_total", **failing) == 1
    down = [
        labels
        for (name, labels) in after
        if name == "quantized_upstream_errors_total" and ("reason", "unreachable") in labels
    ]
    # refused connections are retried on the same upstream (QUANTIZED_UPSTREAM_RETRIES, 2):
    # three failed attempts, two of them followed by another, then nothing left to try
    assert len(down) == 1 and moved("quantized_upstream_errors_total", **dict(down[0])) == 3
    assert moved("quantized_upstream_fallbacks_total", **dict(down[0])) == 2
    # the failed request is counted under the provider it failed on
    failed = {"model": "fake/down", "provider": "openai", "endpoint": "chat", "status": "502"}
    assert (
        total(after, "quantized_model_requests_total", **failed)
        - total(before, "quantized_model_requests_total", **failed)
        == 1
    )


def test_routes_are_templates_and_the_listing_fast_path_is_counted(stack: Stack) -> None:
    before = metrics(stack)
    headers = {"Authorization": f"Bearer {stack.user_key}"}
    with httpx.Client(base_url=stack.gateway.url, headers=headers) as client:
        for _ in range(5):  # one connection: the fast path answers
            assert client.get("/v1/models").status_code == 200
        assert client.get("/v1/models/fake%2Fgpt").status_code == 200
        assert client.get("/v1/no-such-thing-4711").status_code == 404
        assert client.request("BREW", "/v1/models").status_code in (400, 405)
    after = metrics(stack)
    listing = {"route": "/v1/models", "method": "GET", "status": "200"}
    name = "quantized_http_requests_total"
    assert value(after, name, **listing) - value(before, name, **listing) == 5
    item = {"route": "/v1/models/{model}", "method": "GET", "status": "200"}
    assert value(after, name, **item) - value(before, name, **item) == 1
    unmatched = {"route": "(unmatched)", "method": "GET", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    labels = {label for (_, found) in after for label in found}
    assert not any("4711" in v or "BREW" in v or "fake%2F" in v for _, v in labels)
    fast = value(
        after, "quantized_http_request_duration_seconds_bucket", route="/v1/models", le="0.001"
    )
    assert fast >= 5  # the first buckets resolve sub-millisecond answers


def test_the_state_of_the_server_is_sampled(stack: Stack) -> None:
    samples = metrics(stack)
    assert value(samples, "quantized_database_up") == 1
    assert ("quantized_redis_up", frozenset()) not in samples  # no Redis configured
    assert value(samples, "quantized_catalog_models") >= 30
    assert value(samples, "quantized_api_keys") >= 2
    assert total(samples, "quantized_build_info") == 1
    written = value(samples, "quantized_ledger_rows_written_total")
    chat(stack, "fake/gpt")
    wait_until(
        lambda: value(metrics(stack), "quantized_ledger_rows_written_total") > written, timeout=5
    )


def test_metrics_need_an_admin_credential(stack: Stack) -> None:
    url = f"{stack.gateway.url}/metrics"
    assert httpx.get(url).status_code == 401
    user = httpx.get(url, headers={"Authorization": f"Bearer {stack.user_key}"})
    assert user.status_code == 403 and user.json()["error"]["type"] == "permission_error"


def test_workers_share_one_view_of_the_totals(tmp_path: Path) -> None:
    """Under --workers 2 every scrape, whichever worker answers it, sees every request."""
    running = start_stack(tmp_path, QUANTIZED_WORKERS="2", QUANTIZED_METRICS_PUBLIC="true")
    try:
        wait_until(lambda: running.gateway.log().count("Started server process") >= 2, timeout=10)
        sent = 24
        for _ in range(sent):  # a new connection each: the kernel spreads them
            assert chat(running, "fake/gpt").status_code == 200
            listed = httpx.get(
                f"{running.gateway.url}/v1/models",
                headers={"Authorization": f"Bearer {running.user_key}"},
            )
            assert listed.status_code == 200

        def complete() -> Samples | None:
            samples = scrape(running.gateway.url, None)  # public: no credential
            listed = value(samples, "quantized_http_requests_total", **LISTING)
            done = model_requests(samples, "fake/gpt", "200") == sent and listed >= sent
            return samples if done else None

        # each worker moves its additions in every second: wait until both have (chats and
        # listings alike, which the two workers may have answered at different moments)
        wait_until(complete, timeout=5)
        for _ in range(6):  # from then on, whichever worker answers sees them all
            samples = scrape(running.gateway.url, None)
            assert model_requests(samples, "fake/gpt", "200") == sent
            tokens = value(samples, "quantized_tokens_total", model="fake/gpt", kind="prompt")
            assert tokens == 100 * sent
            # the startup probes and key checks listed too; at least the ones sent here
            assert value(samples, "quantized_http_requests_total", **LISTING) >= sent
            assert value(samples, "quantized_catalog_models") >= 30
    finally:
        running.gateway.stop()
        running.upstream.stop()
