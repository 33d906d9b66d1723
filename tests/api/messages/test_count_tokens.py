"""``POST /v1/messages/count_tokens``: Anthropic models counted upstream, others estimated."""

from __future__ import annotations

import httpx

from tests.utils.anthropic_clients import sdk
from tests.utils.stacks import Stack
from tests.utils.upstreams import COUNTED

MESSAGES = [{"role": "user", "content": "How many tokens is this sentence, roughly?"}]


def test_an_anthropic_model_is_counted_by_its_upstream(stack: Stack) -> None:
    raw = sdk(stack).messages.with_raw_response.count_tokens(
        model="fake/claude",
        messages=MESSAGES,  # type: ignore[arg-type]
        system="Be brief.",
        extra_headers={"anthropic-beta": "token-counting-2024-11-01"},
    )
    assert raw.parse().input_tokens == COUNTED
    assert raw.headers["x-quantized-token-count"] == "upstream"
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/messages/count_tokens"
    assert seen.body == {"model": "usage-100-40-20", "messages": MESSAGES, "system": "Be brief."}
    assert seen.headers["anthropic-beta"] == "token-counting-2024-11-01"
    row = stack.row(raw.headers["request-id"])
    assert (row["status"], row["cost_pusd"], row["prompt_tokens"]) == (200, 0, 0)


def test_other_models_get_an_estimate(stack: Stack) -> None:
    before = len(stack.upstream.seen)
    tools = [{"name": "t", "input_schema": {"type": "object", "properties": {}}}]
    raw = sdk(stack).messages.with_raw_response.count_tokens(
        model="fake/gpt",
        messages=MESSAGES,
        tools=tools,  # type: ignore[arg-type]
    )
    assert raw.headers["x-quantized-token-count"] == "estimate"
    estimate = raw.parse().input_tokens
    assert 10 < estimate < 60
    assert len(stack.upstream.seen) == before  # nothing was sent upstream


def test_count_tokens_errors_in_anthropics_shape(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.gateway.url}/v1/messages/count_tokens",
        json={"model": "fake/gpt"},
        headers={"x-api-key": stack.user_key},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
