from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.catalog.model import Upstream
from quantized.errors import BadGatewayError
from quantized.gateway.providers.anthropic import (
    JSON_TOOL,
    AnthropicProvider,
    AnthropicStream,
    translate_message,
    translate_messages,
    translate_request,
)
from quantized.gateway.streams import DONE, Usage
from quantized.gateway.surfaces.chat import ChatRequest, parse_chat_request

USER = {"role": "user", "content": "hi"}
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}}
JSON_FORMAT = {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}


def chat(**fields: Any) -> ChatRequest:
    return parse_chat_request(orjson.dumps({"model": "alias", "messages": [USER], **fields}))


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# translate_messages


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    system, turns = translate_messages(
        [
            {"role": "system", "content": "one"},
            USER,
            {"role": "developer", "content": [text("two"), text(" more")]},
        ]
    )
    assert system == "one\n\ntwo more"
    assert turns == [{"role": "user", "content": [text("hi")]}]
    assert translate_messages([USER])[0] is None


def test_consecutive_turns_of_one_role_are_merged() -> None:
    _, turns = translate_messages(
        [
            USER,
            {"role": "user", "content": [text("a"), text("b")]},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": "d"},
            {"role": "user", "content": "e"},
        ]
    )
    assert turns == [
        {"role": "user", "content": [text("hi"), text("a"), text("b")]},
        {"role": "assistant", "content": [text("c"), text("d")]},
        {"role": "user", "content": [text("e")]},
    ]


def test_tool_calls_and_results() -> None:
    calls = [
        {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "t2", "type": "function", "function": {"name": "g", "arguments": ""}},
    ]
    _, turns = translate_messages(
        [
            USER,
            {"role": "assistant", "content": "let me see", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "t1", "content": "one"},
            {"role": "tool", "tool_call_id": "t2", "content": [text("tw"), text("o")]},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert turns == [
        {"role": "user", "content": [text("hi")]},
        {
            "role": "assistant",
            "content": [
                text("let me see"),
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}},
                {"type": "tool_use", "id": "t2", "name": "g", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "t2", "content": "two"},
                text("thanks"),
            ],
        },
    ]


def test_images() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        text("what is this?"),
    ]
    _, turns = translate_messages([{"role": "user", "content": parts}])
    assert turns[0]["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        text("what is this?"),
    ]


# translate_request


def test_request_defaults() -> None:
    out = translate_request(chat(), "claude-up")
    assert out == {
        "model": "claude-up",
        "messages": [{"role": "user", "content": [text("hi")]}],
        "max_tokens": 4096,
    }


def test_request_parameters() -> None:
    request = chat(
        messages=[{"role": "system", "content": "be brief"}, USER],
        max_tokens=100,
        max_completion_tokens=200,
        temperature=0.5,
        top_p=0.9,
        user="u-42",
        stop="END",
        stream=True,
    )
    out = translate_request(request, "claude-up")
    assert out["system"] == "be brief"
    assert out["max_tokens"] == 200
    assert out["temperature"] == 0.5
    assert out["top_p"] == 0.9
    assert out["metadata"] == {"user_id": "u-42"}
    assert out["stop_sequences"] == ["END"]
    assert out["stream"] is True
    assert translate_request(chat(max_tokens=100), "x")["max_tokens"] == 100
    assert translate_request(chat(stop=["a", "b"]), "x")["stop_sequences"] == ["a", "b"]
    assert translate_request(chat(temperature=0), "x")["temperature"] == 0
    assert "stream" not in translate_request(chat(stream=False), "x")


TOOLS = [
    {
        "type": "function",
        "function": {"name": "weather", "description": "Weather now", "parameters": SCHEMA},
    },
    {"type": "function", "function": {"name": "noop"}},
]


def test_tools() -> None:
    out = translate_request(chat(tools=TOOLS), "x")
    assert out["tools"] == [
        {"name": "weather", "description": "Weather now", "input_schema": SCHEMA},
        {
            "name": "noop",
            "description": "",
            "input_schema": {"type": "object", "properties": {}},
        },
    ]
    assert "tool_choice" not in out


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "noop"}}, {"type": "tool", "name": "noop"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    assert translate_request(chat(tools=TOOLS, tool_choice=choice), "x")["tool_choice"] == expected
    assert "tool_choice" not in translate_request(chat(tool_choice=choice), "x")


def test_json_schema_is_a_forced_tool() -> None:
    out = translate_request(chat(response_format=JSON_FORMAT, tool_choice="auto"), "x")
    assert out["tools"] == [
        {"name": JSON_TOOL, "description": "Answer with this JSON.", "input_schema": SCHEMA}
    ]
    assert out["tool_choice"] == {"type": "tool", "name": "json_response"}


# translate_message


def message(content: list[dict[str, Any]], stop: str, **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": content,
        "stop_reason": stop,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


def test_message_with_text_and_tool_use() -> None:
    data = message(
        [
            text("Hel"),
            text("lo"),
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": [1, 2]}},
        ],
        "tool_use",
        cache_read_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    out, usage = translate_message(data, json_mode=False)
    assert usage == Usage(
        prompt_tokens=130, cached_tokens=100, completion_tokens=5, cache_write_tokens=20
    )
    assert out["id"] == "msg_1"
    assert out["object"] == "chat.completion"
    assert out["model"] == "claude-up"
    assert out["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x":[1,2]}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }
    ]
    assert out["usage"] == {
        "prompt_tokens": 130,
        "completion_tokens": 5,
        "total_tokens": 135,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    out, _ = translate_message(message([text("x")], stop), json_mode=False)
    assert out["choices"][0]["finish_reason"] == finish


def test_message_without_text_has_null_content() -> None:
    out, usage = translate_message({"content": [], "stop_reason": "end_turn"}, json_mode=False)
    assert out["choices"][0]["message"] == {"role": "assistant", "content": None}
    assert usage == Usage()


def test_json_mode_returns_the_forced_tools_input_as_content() -> None:
    block = {"type": "tool_use", "id": "t1", "name": JSON_TOOL, "input": {"a": 1}}
    out, _ = translate_message(message([block], "tool_use"), json_mode=True)
    choice = out["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": '{"a":1}'}
    assert choice["finish_reason"] == "stop"
    out, _ = translate_message(message([block], "tool_use"), json_mode=False)
    assert out["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == JSON_TOOL


# the provider


def test_provider_call() -> None:
    upstream = Upstream(provider="anthropic", base_url="https://api.anthropic.com/", model="c-up")
    call = AnthropicProvider().call(chat(temperature=0.1), upstream, "sk-ant")
    assert call.url == "https://api.anthropic.com/v1/messages"
    headers = dict(call.headers)
    assert headers[b"x-api-key"] == b"sk-ant"
    assert headers[b"anthropic-version"] == b"2023-06-01"
    assert headers[b"content-type"] == b"application/json"
    assert b"authorization" not in headers
    assert orjson.loads(call.body) == translate_request(chat(temperature=0.1), "c-up")
    keyless = AnthropicProvider().call(chat(), upstream, None)
    assert b"x-api-key" not in dict(keyless.headers)


def test_provider_translator_follows_the_request() -> None:
    options = {"include_usage": True}
    asked = chat(stream=True, stream_options=options, response_format=JSON_FORMAT)
    translator = AnthropicProvider().translator(asked)
    block = {"type": "tool_use", "id": "t1", "name": JSON_TOOL, "input": {}}
    translator.feed(START + sse("content_block_start", index=0, content_block=block))
    out = translator.feed(sse("message_delta", delta={"stop_reason": "tool_use"}, usage={}))
    assert deltas(out) == [({}, "stop")]  # json mode
    assert len(translator.finish()) == 2  # the usage chunk, then [DONE]
    assert AnthropicProvider().translator(chat(stream=True)).finish() == [DONE]


def test_provider_completion() -> None:
    data = message([text("hi")], "end_turn")
    body, usage = AnthropicProvider().completion(chat(), orjson.dumps(data))
    assert orjson.loads(body)["choices"][0]["message"]["content"] == "hi"
    assert usage == Usage(10, 0, 5)


# streams


def sse(kind: str, **data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


START = sse(
    "message_start",
    message={
        "id": "msg_1",
        "model": "claude-up",
        "usage": {"input_tokens": 30, "cache_read_input_tokens": 50, "output_tokens": 1},
    },
)
STREAM = b"".join(
    [
        START,
        sse("ping"),
        sse("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        sse("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hel"}),
        sse("content_block_delta", index=0, delta={"type": "text_delta", "text": "lo"}),
        sse("content_block_stop", index=0),
        sse(
            "content_block_start",
            index=1,
            content_block={"type": "tool_use", "id": "t1", "name": "f", "input": {}},
        ),
        sse(
            "content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": '{"x"'},
        ),
        sse(
            "content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": ": 1}"},
        ),
        sse("content_block_stop", index=1),
        sse("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 42}),
        sse("message_stop"),
    ]
)


def events(out: list[bytes]) -> list[Any]:
    assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in out)
    return [e[6:-2] if e == DONE else orjson.loads(e[6:-2]) for e in out]


def deltas(out: list[bytes]) -> list[tuple[dict[str, Any], str | None]]:
    return [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in events(out)]


def stream(include_usage: bool = False, json_mode: bool = False) -> AnthropicStream:
    return AnthropicStream(include_usage=include_usage, json_mode=json_mode)


def test_stream_translation() -> None:
    translator = stream()
    out = [e for i in range(len(STREAM)) for e in translator.feed(STREAM[i : i + 1])]
    chunks = events(out)
    assert {(c["id"], c["model"], c["object"]) for c in chunks} == {
        ("msg_1", "claude-up", "chat.completion.chunk")
    }
    assert deltas(out) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hel"}, None),
        ({"content": "lo"}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}, None),
        ({}, "tool_calls"),
    ]
    assert translator.usage == Usage(prompt_tokens=80, cached_tokens=50, completion_tokens=42)
    assert translator.chunks == 4
    assert translator.finish() == [DONE]


def test_stream_usage_chunk_only_when_asked() -> None:
    translator = stream(include_usage=True)
    translator.feed(STREAM.replace(b"\n", b"\r\n"))
    final = events(translator.finish())
    assert final[-1] == b"[DONE]"
    assert len(final) == 2
    assert final[0]["choices"] == []
    assert final[0]["id"] == "msg_1"
    assert final[0]["usage"] == {
        "prompt_tokens": 80,
        "completion_tokens": 42,
        "total_tokens": 122,
        "prompt_tokens_details": {"cached_tokens": 50},
    }


def test_stream_without_message_delta_has_no_usage_chunk() -> None:
    translator = stream(include_usage=True)
    translator.feed(START)
    assert translator.usage is None
    assert translator.finish() == [DONE]


def test_second_tool_gets_index_one() -> None:
    translator = stream()
    translator.feed(START)
    tool = {"type": "tool_use", "id": "t2", "name": "g", "input": {}}
    out = translator.feed(
        sse("content_block_start", index=0, content_block={**tool, "id": "t1"})
        + sse("content_block_start", index=1, content_block=tool)
        + sse(
            "content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": "{}"}
        )
    )
    assert [d["tool_calls"][0]["index"] for d, _ in deltas(out)] == [0, 1, 1]


def test_stream_json_mode_sends_the_forced_tool_input_as_content() -> None:
    translator = stream(json_mode=True)
    translator.feed(START)
    block = {"type": "tool_use", "id": "t1", "name": JSON_TOOL, "input": {}}
    out = translator.feed(
        sse("content_block_start", index=0, content_block=block)
        + sse(
            "content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": '{"a"'},
        )
        + sse(
            "content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": ":1}"},
        )
        + sse("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 3})
    )
    assert deltas(out) == [({"content": '{"a"'}, None), ({"content": ":1}"}, None), ({}, "stop")]


@pytest.mark.parametrize(("reason", "finish"), [("end_turn", "stop"), ("max_tokens", "length")])
def test_stream_finish_reasons(reason: str, finish: str) -> None:
    translator = stream()
    out = translator.feed(sse("message_delta", delta={"stop_reason": reason}, usage={}))
    assert deltas(out) == [({}, finish)]


def test_stream_error_event_ends_the_stream_as_an_upstream_failure() -> None:
    """The pipeline then ends the client's stream with an error event in the client API's
    shape (``upstream_interrupted``), written by the one error renderer."""
    translator = stream()
    with pytest.raises(BadGatewayError, match=r"\(overloaded_error\): Overloaded"):
        translator.feed(sse("error", error={"type": "overloaded_error", "message": "Overloaded"}))
