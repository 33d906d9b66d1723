"""Billing found against real upstreams: usage reported late in a stream, usage a client did not
ask for, refused requests that keep their model, answers the gateway cannot read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.utils.keys import create_key, key_works
from tests.utils.processes import run_cli, wait_until
from tests.utils.stacks import Stack

USER = {"role": "user", "content": "hi"}


def chat(stack: Stack, model: str, key: str | None = None, **extra: object) -> httpx.Response:
    with stack.client(key) as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": [USER], **extra}
        )


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_usage_in_the_final_message_delta_is_billed(stack: Stack, stream: bool) -> None:
    """``message_start`` says 0 input tokens; the cumulative usage of ``message_delta`` has
    1,000 prompt tokens (300 cache reads, 200 cache writes) and 50 output tokens."""
    response = chat(stack, "fake/claude-late", stream=stream)
    assert response.status_code == 200, response.text
    row = stack.row(response.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (1000, 300, 50)
    assert row["cache_write_tokens"] == 200
    # (500 x 2.5 + 300 x 1.25 + 200 x 3.125 + 50 x 10) / 1e6 USD = 0.00275 USD
    assert row["cost_pusd"] == 2_750_000_000
    assert row["estimated"] == 0


@pytest.mark.parametrize("stream", [False, True])
def test_cache_writes_an_openai_compatible_upstream_reports_are_billed(
    stack: Stack, stream: bool
) -> None:
    """OpenRouter's ``prompt_tokens_details.cache_write_tokens``: the same tokens, the same
    cost as Anthropic's ``cache_creation_input_tokens``."""
    response = chat(stack, "fake/router", stream=stream)
    assert response.status_code == 200, response.text
    row = stack.row(response.headers["x-request-id"])
    counts = ("prompt_tokens", "cached_tokens", "cache_write_tokens", "completion_tokens")
    assert tuple(row[c] for c in counts) == (1000, 300, 200, 50)
    assert row["cost_pusd"] == 2_750_000_000


def test_usage_summaries_report_cache_writes_beside_cache_reads(stack: Stack) -> None:
    key = create_key(stack.gateway.env, "--name", "cache-writer", "--models", "fake/*")
    wait_until(lambda: key_works(stack.gateway, key), timeout=5)
    for stream in (False, True):
        assert chat(stack, "fake/claude-late", key, stream=stream).status_code == 200

    def mine() -> dict[str, Any] | None:
        with stack.client(key) as client:
            body: dict[str, Any] = client.get("/v1/usage").json()
        return body if sum(r["requests"] for r in body["data"]) == 2 else None

    (row,) = wait_until(mine, timeout=5)["data"]
    assert (row["prompt_tokens"], row["cached_tokens"], row["cache_write_tokens"]) == (
        2000,
        600,
        400,
    )
    assert row["cost_usd"] == 0.0055  # 2 x 0.00275
    with stack.client(stack.admin_key) as admin:
        keys = admin.get("/admin/v1/keys").json()["data"]
        caller = f"key:{next(k['id'] for k in keys if k['name'] == 'cache-writer')}"
        (everyone,) = admin.get("/admin/v1/usage", params={"caller": caller}).json()["data"]
    assert everyone == {**row, "caller": {"kind": "key", "id": caller[4:]}}
    table = run_cli("usage", "--caller", caller, env=stack.gateway.env, check=True).stdout
    header, line = table.splitlines()[:2]
    assert line[header.index("CACHED") :].split()[0] == "600"
    assert line[header.index("CACHE WRITE") :].split()[0] == "400"


def test_a_stream_without_include_usage_gets_no_usage_even_on_content_chunks(
    stack: Stack,
) -> None:
    response = chat(stack, "fake/noisy", stream=True)
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")
    ]
    assert len(events) >= 3
    assert all("usage" not in event for event in events)
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events).startswith(
        "echo:"
    )
    row = stack.row(response.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (100, 40, 20)


def test_a_stream_with_include_usage_gets_it(stack: Stack) -> None:
    client = OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1")
    chunks = list(
        client.chat.completions.create(
            model="fake/noisy",
            messages=[USER],  # type: ignore[list-item]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 100


def test_refused_requests_keep_the_model_in_the_ledger(stack: Stack) -> None:
    narrow = create_key(stack.gateway.env, "--name", "narrow", "--models", "fake/gpt")
    forbidden = chat(stack, "fake/claude", narrow)
    assert forbidden.status_code == 403, forbidden.text
    gone = chat(stack, "fake/old")
    assert gone.status_code == 410
    unknown = chat(stack, "fake/never-was")
    assert unknown.status_code == 404
    rows = {
        status: stack.row(response.headers["x-request-id"])
        for status, response in ((403, forbidden), (410, gone), (404, unknown))
    }
    assert rows[403]["model"] == "fake/claude" and rows[403]["status"] == 403
    assert rows[410]["model"] == "fake/old" and rows[410]["error_code"] == "model_deprecated"
    assert rows[404]["model"] == ""  # an id that names nothing is not kept


@pytest.mark.parametrize("model", ["fake/garbage", "fake/truncated"])
def test_an_answer_the_gateway_cannot_read_is_a_502(stack: Stack, model: str) -> None:
    before = len(stack.upstream.seen)
    response = chat(stack, model)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "upstream_invalid_response"
    assert response.headers["content-type"] == "application/json"
    # the upstream answered (200): the request was served there, so it is not sent again
    assert len(stack.upstream.seen) - before == 1
    row = stack.row(response.headers["x-request-id"])
    assert (row["status"], row["error_code"], row["model"]) == (
        502,
        "upstream_invalid_response",
        model,
    )


def test_a_key_created_a_moment_ago_works_at_once(stack: Stack) -> None:
    for index in range(3):
        key = create_key(stack.gateway.env, "--name", f"fresh-{index}", "--models", "fake/*")
        response = chat(stack, "fake/gpt", key)
        assert response.status_code == 200, response.text
