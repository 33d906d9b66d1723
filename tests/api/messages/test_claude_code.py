"""A request recorded from Claude Code (2.1, ``claude -p``), and a later turn built on it,
passed through to Anthropic and translated for another upstream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.anthropic_clients import sse_events
from tests.utils.stacks import Stack
from tests.utils.upstreams import SIGNATURE

RECORDED = Path(__file__).parents[2] / "fixtures" / "claude_code_request.json"
BETAS = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "prompt-caching-scope-2026-01-05,effort-2025-11-24"
)


def first_turn() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(RECORDED.read_text())
    return body


def later_turn() -> dict[str, Any]:
    """The first turn, answered with thinking and a tool call whose result was an error,
    then a long history: about 115 KB, as Claude Code's requests grow."""
    body = first_turn()
    history: list[dict[str, Any]] = []
    for turn in range(12):
        history += [
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Let me look.", "signature": SIGNATURE},
                    {"type": "text", "text": f"Reading file {turn}."},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{turn:02d}",
                        "name": "Read",
                        "input": {"file_path": f"/src/module_{turn}.py"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{turn:02d}",
                        "content": [{"type": "text", "text": "x = 1\n" * 500}],
                        "is_error": turn == 3,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ]
    body["messages"] = [*body["messages"], *history]
    return body


def post(stack: Stack, body: dict[str, Any], model: str, stream: bool) -> httpx.Response:
    return httpx.post(
        f"{stack.gateway.url}/v1/messages?beta=true",
        json={**body, "model": model, "stream": stream},
        headers={
            "authorization": f"Bearer {stack.user_key}",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": BETAS,
            "x-claude-code-session-id": "00000000-0000-4000-8000-000000000000",
            "x-app": "cli",
        },
        timeout=30,
    )


def test_the_corpus_is_claude_code_shaped() -> None:
    first, later = first_turn(), later_turn()
    assert 70_000 < len(json.dumps(first)) < len(json.dumps(later)) < 130_000
    assert len(first["tools"]) == 24 and len(first["system"]) == 3
    assert any(m["role"] == "system" for m in first["messages"])
    assert all("$schema" in t["input_schema"] for t in first["tools"])


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("turn", [first_turn, later_turn])
def test_passed_through_to_anthropic(stack: Stack, stream: bool, turn: Any) -> None:
    body = turn()
    response = post(stack, body, "fake/claude-think", stream)
    assert response.status_code == 200, response.text
    seen = stack.upstream.seen[-1]
    assert seen.body == {**body, "model": "think", "stream": stream}
    assert seen.headers["anthropic-beta"] == BETAS
    if stream:
        names = [name for name, _ in sse_events(response.text)]
        assert names[0] == "message_start" and names[-1] == "message_stop"
    else:
        assert response.json()["content"][0]["signature"] == SIGNATURE


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("turn", [first_turn, later_turn])
def test_translated_for_another_upstream(stack: Stack, stream: bool, turn: Any) -> None:
    body = turn()
    response = post(stack, body, "fake/gpt-think", stream)
    assert response.status_code == 200, response.text
    sent = stack.upstream.seen[-1].body
    assert sent["model"] == "think"
    assert sent["reasoning_effort"] == "high"  # output_config.effort
    assert sent["max_completion_tokens"] == body["max_tokens"]
    assert len(sent["tools"]) == 24
    assert "$schema" not in json.dumps([t["function"]["parameters"] for t in sent["tools"]])
    roles = [m["role"] for m in sent["messages"]]
    assert roles[:3] == ["system", "user", "system"]
    assert "You are a Claude agent" in sent["messages"][0]["content"]
    assert "thinking" not in json.dumps(sent["messages"])
    if turn is later_turn:
        tools = [m for m in sent["messages"] if m["role"] == "tool"]
        assert len(tools) == 12 and tools[3]["content"].startswith("Error: ")
        assert tools[0]["tool_call_id"] == "toolu_00"
    if stream:
        events = sse_events(response.text)
        assert [n for n, _ in events][:2] == ["message_start", "ping"]
        assert events[-2][1]["usage"]["output_tokens"] == 5
    elif turn is first_turn:  # the upstream calls the first tool
        answer = response.json()
        assert answer["stop_reason"] == "tool_use"
        assert [(b["type"], b["name"]) for b in answer["content"]] == [("tool_use", "Agent")]
    else:  # the upstream answers the tool results
        assert [b["type"] for b in response.json()["content"]] == ["thinking", "text"]
