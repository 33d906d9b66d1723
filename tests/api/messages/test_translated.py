"""Messages to an OpenAI-compatible upstream: translated there and back."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.api.messages.test_passthrough import WEATHER
from tests.utils.anthropic_clients import post_stream, sdk, sse_events
from tests.utils.stacks import Stack
from tests.utils.upstreams import SIGNATURE

PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def test_a_whole_message(stack: Stack) -> None:
    message = sdk(stack).messages.create(
        model="fake/gpt",
        max_tokens=1000,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "system", "content": "Answer in English."},  # type: ignore[typeddict-item]
            {"role": "user", "content": [{"type": "text", "text": "how are you"}]},
        ],
        stop_sequences=["END"],
    )
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.body["model"] == "usage-100-40-20"
    assert seen.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": [{"type": "text", "text": "how are you"}]},
    ]
    assert (seen.body["max_tokens"], seen.body["stop"]) == (1000, ["END"])
    assert message.model == "fake/gpt" and message.stop_reason == "end_turn"
    assert message.content[0].type == "text" and message.content[0].text == "echo: how are you"
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (60, 40, 20)


def test_a_stream_in_anthropics_exact_sequence(stack: Stack) -> None:
    response = post_stream(
        stack,
        {"model": "fake/gpt", "max_tokens": 50, "messages": [{"role": "user", "content": "a b"}]},
    )
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["usage"]["input_tokens"] > 0  # the estimate, until the upstream says
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"] == {
        "input_tokens": 60,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 40,
        "output_tokens": 20,
    }
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "echo: a b "
    row = stack.row(response.headers["request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (100, 40, 20)


def test_cache_writes_come_back_as_anthropic_reports_them_and_are_billed(stack: Stack) -> None:
    """The upstream reports OpenRouter's ``cache_write_tokens``: the caller sees
    ``cache_creation_input_tokens``; the ledger bills them at ``input_cache_write``."""
    raw = sdk(stack).messages.with_raw_response.create(
        model="fake/router", max_tokens=50, messages=[{"role": "user", "content": "hello"}]
    )
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (500, 300)
    assert (usage.cache_creation_input_tokens, usage.output_tokens) == (200, 50)
    row = stack.row(raw.headers["request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["cache_write_tokens"]) == (
        1000,
        300,
        200,
    )
    assert row["cost_pusd"] == 2_750_000_000


def test_the_sdk_accumulates_the_exact_usage(stack: Stack) -> None:
    with sdk(stack).messages.stream(
        model="fake/gpt", max_tokens=50, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.input_tokens == 60 and final.usage.output_tokens == 20
    assert final.content[0].type == "text" and final.content[0].text == "echo: hello "


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_becomes_reasoning_effort_and_comes_back(stack: Stack, stream: bool) -> None:
    client = sdk(stack)
    earlier = [
        {"role": "user", "content": "first"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Hmm.", "signature": SIGNATURE},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "one"},
            ],
        },
        {"role": "user", "content": "second"},
    ]
    asked: dict[str, Any] = {
        "model": "fake/gpt-think",
        "max_tokens": 20000,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "messages": earlier,
    }
    if stream:
        with client.messages.stream(**asked) as running:
            message = running.get_final_message()
    else:
        message = client.messages.create(**asked)
    seen = stack.upstream.seen[-1].body
    assert seen["reasoning_effort"] == "medium"
    assert seen["max_completion_tokens"] == 20000 and "max_tokens" not in seen
    assert seen["messages"][1] == {"role": "assistant", "content": "one"}  # thinking dropped
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking == "Let me think."
    assert text.type == "text" and text.text.strip() == "echo: second"


def test_thinking_is_dropped_for_a_model_without_reasoning(stack: Stack) -> None:
    sdk(stack).messages.create(
        model="fake/gpt",
        max_tokens=100,
        thinking={"type": "adaptive"},  # type: ignore[typeddict-item]
        messages=[{"role": "user", "content": "hi"}],
    )
    seen = stack.upstream.seen[-1].body
    assert "reasoning_effort" not in seen and seen["max_tokens"] == 100


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("failed", [False, True])
def test_a_tool_round_trip(stack: Stack, stream: bool, failed: bool) -> None:
    client = sdk(stack)
    server_tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
    tools: Any = [WEATHER, server_tool]
    ask = {"role": "user", "content": "weather in Paris?"}
    if stream:
        with client.messages.stream(
            model="fake/gpt", max_tokens=100, tools=tools, messages=[ask]
        ) as running:
            first = running.get_final_message()
    else:
        first = client.messages.create(
            model="fake/gpt", max_tokens=100, tools=tools, messages=[ask]
        )
    sent = stack.upstream.seen[-1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": {k: v for k, v in WEATHER["input_schema"].items() if k != "$schema"},
            },
        }
    ]
    assert first.stop_reason == "tool_use"
    call = first.content[-1]
    assert call.type == "tool_use" and call.input == {"city": "Paris"} and call.id == "call_1"
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "18C", "is_error": failed}
    second = client.messages.create(
        model="fake/gpt",
        max_tokens=100,
        tools=tools,
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[
            ask,
            {"role": "assistant", "content": [call.model_dump()]},
            {"role": "user", "content": [result]},
        ],
    )
    sent = stack.upstream.seen[-1].body
    assert sent["tool_choice"] == "required" and sent["parallel_tool_calls"] is False
    assert sent["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city":"Paris"}'
    content = "Error: 18C" if failed else "18C"
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": content}
    assert second.content[0].type == "text"
    assert second.content[0].text == f"the tool said: {content}"


def test_images_documents_and_structured_output(stack: Stack) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    message = sdk(stack).messages.create(
        model="fake/gpt",
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                    },
                    {"type": "text", "text": "describe"},
                ],
            }
        ],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
    )
    sent = stack.upstream.seen[-1].body
    parts = sent["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
    assert parts[2:] == [{"type": "text", "text": "notes"}, {"type": "text", "text": "describe"}]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }
    assert message.content[0].type == "text" and message.content[0].text == '{"ok": true}'


def test_a_system_message_between_tool_calls_and_results_moves_after_them(stack: Stack) -> None:
    calls = [
        {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "A"}},
        {"type": "tool_use", "id": "t2", "name": "get_weather", "input": {"city": "B"}},
    ]
    results = [
        {"type": "tool_result", "tool_use_id": "t2", "content": "2C"},
        {"type": "tool_result", "tool_use_id": "t1", "content": "1C"},
        {"type": "text", "text": "thanks"},
    ]
    sdk(stack).messages.create(
        model="fake/gpt",
        max_tokens=100,
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "web_search"},
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": calls},  # type: ignore[typeddict-item]
            {"role": "system", "content": "<system-reminder>"},  # type: ignore[typeddict-item]
            {"role": "user", "content": results},  # type: ignore[typeddict-item]
        ],
    )
    sent = stack.upstream.seen[-1].body
    assert [m["role"] for m in sent["messages"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "system",
        "user",
    ]
    assert sent["tool_choice"] == "auto"  # web_search is Anthropic's own tool, dropped


def test_a_text_document_is_text_for_a_text_only_model(stack: Stack) -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "x"},
    }
    message = sdk(stack).messages.create(
        model="fake/text-only",
        max_tokens=100,
        messages=[{"role": "user", "content": [document, {"type": "text", "text": "sum up"}]}],  # type: ignore[list-item]
    )
    assert message.content[0].type == "text"
