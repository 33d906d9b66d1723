"""Messages to an Anthropic upstream: passed through, with only the model replaced."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import anthropic
import httpx
import pytest

from tests.utils.anthropic_clients import MESSAGE, async_sdk, post_stream, sdk, sse_events
from tests.utils.stacks import PROVIDER_KEY, Stack
from tests.utils.upstreams import SIGNATURE

BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize("bearer", [False, True])
def test_the_body_and_headers_reach_anthropic_as_sent(stack: Stack, bearer: bool) -> None:
    extra = {
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "a_field_from_the_future": [1, {"x": None}],
        "temperature": 1,
    }
    sent = {
        "max_tokens": 16000,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
        "metadata": {"user_id": '{"device_id":"d1","session_id":"s1"}'},
    }
    raw = sdk(stack, bearer=bearer).beta.messages.with_raw_response.create(
        model="fake/claude",
        extra_headers={"anthropic-beta": BETAS, "x-claude-code-session-id": "s1"},
        extra_body=extra,
        **sent,  # type: ignore[arg-type]
    )
    message = raw.parse()
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/messages"
    assert seen.body == {**sent, **extra, "model": "usage-100-40-20"}
    assert seen.headers["anthropic-beta"] == BETAS
    assert seen.headers["anthropic-version"] == raw.http_request.headers["anthropic-version"]
    assert seen.headers["x-api-key"] == PROVIDER_KEY
    assert "authorization" not in {name.lower() for name in seen.headers}
    assert message.content[0].type == "text" and message.content[0].text.startswith("echo: hello")
    assert message.usage.input_tokens == 60 and message.usage.cache_read_input_tokens == 40
    row = stack.row(raw.headers["request-id"])
    assert raw.headers["x-request-id"] == raw.headers["request-id"]
    assert (row["model"], row["status"], row["stream"]) == ("fake/claude", 200, 0)
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (100, 40, 20)
    expected = (60 * Decimal("2.5") + 40 * Decimal("1.25") + 20 * 10) / 1_000_000
    assert row["cost_pusd"] == int(expected * 10**12)


def test_a_stream_is_relayed_byte_for_byte(stack: Stack) -> None:
    body = {
        "model": "fake/claude-think",
        "max_tokens": 64000,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "messages": [{"role": "user", "content": "hello there"}],
    }
    through = post_stream(stack, body)
    assert through.status_code == 200
    assert through.headers["content-type"].startswith("text/event-stream")
    direct = httpx.post(
        f"{stack.upstream.base_url}/v1/messages",
        json={**body, "model": "think", "stream": True},
        timeout=10,
    )
    assert through.content == direct.content
    names = [name for name, _ in sse_events(through.text)]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == [
        "message_delta",
        "message_stop",
    ]


def test_thinking_signatures_survive_the_next_turn(stack: Stack) -> None:
    client = sdk(stack)
    question = {"role": "user", "content": "what is 2+2?"}
    with client.messages.stream(
        model="fake/claude-think",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[question],
    ) as stream:
        first = stream.get_final_message()
    thinking = first.content[0]
    assert thinking.type == "thinking"
    assert (thinking.thinking, thinking.signature) == ("Let me think.", SIGNATURE)
    second = client.messages.create(
        model="fake/claude-think",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[
            question,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": "and 3+3?"},
        ],
    )
    assert second.content[-1].type == "text"
    assert stack.upstream.seen[-1].body["messages"][1]["content"][0]["signature"] == SIGNATURE


@pytest.mark.parametrize("failed", [False, True])
def test_a_tool_round_trip(stack: Stack, failed: bool) -> None:
    client = sdk(stack)
    ask = {"role": "user", "content": "weather in Paris?"}
    first = client.messages.create(
        model="fake/claude",
        max_tokens=500,
        tools=[WEATHER],
        messages=[ask],  # type: ignore[list-item]
    )
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.input == {"city": "Paris"}
    result = {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "18C",
        "is_error": failed,
        "cache_control": {"type": "ephemeral"},
    }
    second = client.messages.create(
        model="fake/claude",
        max_tokens=500,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            ask,
            {"role": "assistant", "content": [call.model_dump()]},
            {"role": "user", "content": [result]},  # type: ignore[list-item]
        ],
    )
    said = "the tool said (an error): 18C" if failed else "the tool said: 18C"
    assert second.content[0].type == "text" and second.content[0].text == said


def test_the_async_client_and_the_stream_helpers(stack: Stack) -> None:
    async def run() -> tuple[str, str]:
        async with async_sdk(stack) as client:
            return await stream_and_create(client)

    async def stream_and_create(client: anthropic.AsyncAnthropic) -> tuple[str, str]:
        async with client.messages.stream(
            model="fake/claude-chunks",
            max_tokens=100,
            messages=[{"role": "user", "content": "count"}],
        ) as stream:
            text = "".join([piece async for piece in stream.text_stream])
            final = await stream.get_final_message()
        whole = await client.messages.create(
            model="fake/claude", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
        MESSAGE.validate_python(final.model_dump(), strict=False)
        return text, whole.content[0].text  # type: ignore[union-attr]

    text, whole = asyncio.run(run())
    assert text == "".join(f"w{i} " for i in range(60))
    assert whole.startswith("echo: hi")


def test_usage_reported_late_is_billed(stack: Stack) -> None:
    response = post_stream(
        stack,
        {
            "model": "fake/claude-late",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    row = stack.row(response.headers["request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (1000, 300, 50)
    assert row["stream"] == 1 and row["estimated"] == 0
    # 200 cache writes at input_cache_write: (500 x 2.5 + 300 x 1.25 + 200 x 3.125 + 50 x 10) / 1e6
    assert (row["cache_write_tokens"], row["cost_pusd"]) == (200, 2_750_000_000)


def test_thinking_another_provider_left_unsigned_is_not_sent_to_anthropic(stack: Stack) -> None:
    """A conversation that moved from a translated model to an Anthropic one."""
    client = sdk(stack)
    earlier = client.messages.create(
        model="fake/gpt-think",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "first"}],
    )
    assert earlier.content[0].type == "thinking" and earlier.content[0].signature == ""
    later = client.messages.create(
        model="fake/claude-think",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [b.model_dump() for b in earlier.content]},
            {"role": "user", "content": "second"},
        ],
    )
    assert later.content[-1].type == "text"
    sent = stack.upstream.seen[-1].body
    assert [b["type"] for b in sent["messages"][1]["content"]] == ["text"]
    assert "thinking" not in sent  # the last assistant turn has no signed thinking to open it
