"""A request Codex CLI 0.171 sent (recorded: its second turn, after a function call), through
the gateway to each kind of upstream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.utils.openai_clients import checked_events, post_stream
from tests.utils.stacks import Stack

RECORDED = Path(__file__).parents[2] / "fixtures" / "codex_recorded_request.json"


def codex_request(model: str) -> dict[str, Any]:
    body = json.loads(RECORDED.read_text())
    return {**body, "model": model}


def test_the_recording_is_what_codex_sends() -> None:
    body = codex_request("x")
    assert body["stream"] is True and body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    kinds = {tool["type"] for tool in body["tools"]}
    assert {"function", "custom", "tool_search", "web_search"} <= kinds
    assert [item["type"] for item in body["input"][-2:]] == [
        "function_call",
        "function_call_output",
    ]
    assert all(item.get("id") for item in body["input"] if item["type"] == "message")


def test_passed_through_as_sent_to_an_upstream_serving_the_responses_api(stack: Stack) -> None:
    answer = post_stream(stack, codex_request("fake/gpt-native"))
    assert answer.status_code == 200
    assert checked_events(answer.text)[-1]["type"] == "response.completed"
    assert stack.upstream.seen[-1].body == codex_request("usage-100-40-20")


@pytest.mark.parametrize("model", ["fake/gpt", "fake/claude"])
def test_translated_for_other_upstreams(stack: Stack, model: str) -> None:
    answer = post_stream(stack, codex_request(model))
    assert answer.status_code == 200
    assert set(answer.headers["x-quantized-warning"].split(": ", 1)[1].split(", ")) == {
        "tool_search",
        "web_search",
    }
    events = checked_events(answer.text)
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["input_tokens"] == 100
    sent = json.dumps(stack.upstream.seen[-1].body)
    assert "*** Begin Patch" in sent  # apply_patch's grammar reaches the model
    assert "web_search" not in sent
    call = codex_request(model)["input"][-2]
    assert call["call_id"] in sent
