"""OpenAI-style streams as Anthropic events, for the servers that stray from OpenAI's rules.

Each stream is checked as Anthropic's SDK reads it (its own ``accumulate_event``)
and for the event order a Messages stream must keep: block indices in sequence,
every started block stopped, deltas only for the open block.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from pydantic import TypeAdapter

from quantized.errors import BadGatewayError
from quantized.gateway.messages.from_chat import MessagesFromChat
from quantized.gateway.providers.openai import OpenAIStream

EVENT: TypeAdapter[Any] = TypeAdapter(anthropic.types.RawMessageStreamEvent)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return b"data: " + json.dumps({"choices": choices, **extra}).encode() + b"\n\n"


def call(index: int | None, call_id: str | None = None, name: str = "", args: str = "") -> Any:
    found: dict[str, Any] = {"function": {"arguments": args}}
    if index is not None:
        found["index"] = index
    if call_id is not None:
        found["id"], found["type"] = call_id, "function"
        found["function"]["name"] = name
    return {"tool_calls": [found]}


def translate(*chunks: bytes) -> tuple[list[dict[str, Any]], MessagesFromChat]:
    translator = MessagesFromChat(OpenAIStream(forward_usage=False), "m", 7)
    raw = [event for data in chunks for event in translator.feed(data)]
    raw += translator.finish()
    events = [json.loads(e.split(b"data: ", 1)[1]) for e in raw]
    open_block, next_index = None, 0
    for event in events:
        if event["type"] == "content_block_start":
            assert open_block is None and event["index"] == next_index
            open_block, next_index = event["index"], next_index + 1
        elif event["type"] == "content_block_delta":
            assert event["index"] == open_block
        elif event["type"] == "content_block_stop":
            assert event["index"] == open_block
            open_block = None
    assert open_block is None
    return events, translator


def message(events: list[dict[str, Any]]) -> Any:
    snapshot = None
    for event in events:
        if event["type"] != "ping":
            parsed = EVENT.validate_python(event, strict=True)
            snapshot = accumulate_event(event=parsed, current_snapshot=snapshot, json_bufs={})
    return snapshot


def tool_inputs(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    found = message(events)
    return [(b.name, b.input) for b in found.content if b.type == "tool_use"]


def test_parallel_calls_all_at_index_zero_as_ollama_sends_them() -> None:
    events, _ = translate(
        chunk(call(0, "call_a", "read", '{"path": "h.py"}')),
        chunk(call(0, "call_b", "read", '{"path": "w.py"}')),
        chunk(finish="tool_calls"),
    )
    assert tool_inputs(events) == [("read", {"path": "h.py"}), ("read", {"path": "w.py"})]


def test_fragments_without_an_index_continue_the_last_call() -> None:
    events, _ = translate(
        chunk(call(None, "call_a", "read", '{"pa')),
        chunk(call(None, args='th": 1}')),
        chunk(finish="tool_calls"),
    )
    assert tool_inputs(events) == [("read", {"path": 1})]


def test_interleaved_calls_and_text_between_fragments() -> None:
    events, _ = translate(
        chunk({"content": "Let me look."}),
        chunk(call(0, "c0", "a", "")),
        chunk(call(1, "c1", "b", "")),
        chunk(call(0, args='{"x": 1}')),
        chunk({"content": " hmm"}),
        chunk(call(1, args='{"y": 2}')),
        chunk(finish="tool_calls"),
    )
    assert tool_inputs(events) == [("a", {"x": 1}), ("b", {"y": 2})]
    assert message(events).content[0].text == "Let me look. hmm"


def test_tools_called_under_a_stop_finish_reason_are_tool_use() -> None:
    events, _ = translate(chunk(call(0, "c0", "a", "{}")), chunk(finish="stop"))
    assert message(events).stop_reason == "tool_use"
    events, _ = translate(chunk(call(0, "c0", "a", "{}")), chunk(finish="length"))
    assert message(events).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    "broken",
    [
        [chunk({"content": "a"}), b'data: {"error": {"message": "CUDA OOM"}}\n\n'],
        [chunk({"content": "a"}), chunk(finish="error", error={"message": "provider down"})],
        [chunk({"content": "a"})],  # the stream just ends
    ],
)
def test_an_upstream_error_in_the_stream_is_an_error_not_an_end_turn(broken: list[bytes]) -> None:
    with pytest.raises(BadGatewayError):
        translate(*broken)


def test_output_tokens_without_upstream_usage_are_the_deltas_sent() -> None:
    events, translator = translate(
        chunk({"content": "a"}), chunk({"content": "b"}), chunk(finish="stop")
    )
    assert events[-2]["usage"] == {"input_tokens": 7, "output_tokens": 2}
    assert translator.usage is None  # the ledger estimates, and flags the row
