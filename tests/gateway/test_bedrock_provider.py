"""The Bedrock provider against raw bytes: the Converse body it builds, the answers and
event streams it reads, and how it signs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.errors import BadGatewayError, InvalidRequestError
from quantized.gateway.providers import providers
from quantized.gateway.providers.base import error_message
from quantized.gateway.providers.bedrock import BedrockProvider
from quantized.gateway.providers.bedrock_answer import translate_answer
from quantized.gateway.providers.bedrock_request import CACHE_POINT, JSON_TOOL, converse_body
from quantized.gateway.streams import Usage
from quantized.gateway.surfaces.chat import ChatRequest, parse_chat_request
from tests.utils.bedrock_shape import converse_problem

USER = {"role": "user", "content": "hi"}
CLAUDE = "anthropic.claude-sonnet-4-20250514-v1:0"
PNG = "iVBORw0KGgo="
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}}
WEATHER = {
    "type": "function",
    "function": {"name": "weather", "description": "The weather.", "parameters": SCHEMA},
}


def chat(**fields: Any) -> ChatRequest:
    return parse_chat_request(orjson.dumps({"model": "alias", "messages": [USER], **fields}))


def body_of(model: str = "meta.llama3-70b-instruct-v1:0", **fields: Any) -> dict[str, Any]:
    body = converse_body(chat(**fields), model)
    assert converse_problem(orjson.loads(orjson.dumps(body))) is None
    return body


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


# the request


def test_a_conversation_becomes_alternating_turns_with_tool_blocks() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"a": 1}'},
    }
    body = body_of(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [text("Be kind.")]},
            USER,
            {"role": "user", "content": [text("and"), text("")]},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "thanks"},
        ],
        tools=[WEATHER],
    )
    assert body == {
        "system": [{"text": "Be brief."}, {"text": "Be kind."}],
        "messages": [
            {"role": "user", "content": [{"text": "hi"}, {"text": "and"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "call_1", "name": "weather", "input": {"a": 1}}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
                    {"text": "thanks"},
                ],
            },
        ],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "weather",
                        "inputSchema": {"json": SCHEMA},
                        "description": "The weather.",
                    }
                }
            ]
        },
    }


def test_inference_settings() -> None:
    body = body_of(max_completion_tokens=300, temperature=0.2, top_p=0.9, stop="END")
    assert body["inferenceConfig"] == {
        "maxTokens": 300,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body_of(max_tokens=10, stop=["a", "b"])["inferenceConfig"] == {
        "maxTokens": 10,
        "stopSequences": ["a", "b"],
    }
    assert "inferenceConfig" not in body_of()


def test_data_url_images_and_documents_become_bytes() -> None:
    content = [
        text("look"),
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": f"data:image/jpg;base64,{PNG}"}},
        {
            "type": "file",
            "file": {
                "filename": "Q3 report.v2.pdf",
                "file_data": f"data:application/pdf;base64,{PNG}",
            },
        },
    ]
    body = body_of(messages=[{"role": "user", "content": content}])
    assert body["messages"][0]["content"] == [
        {"text": "look"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
        {"document": {"format": "pdf", "name": "Q3 report v2 pdf", "source": {"bytes": PNG}}},
    ]


@pytest.mark.parametrize(
    ("part", "says"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            "data URLs only",
        ),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/bmp;base64,{PNG}"}},
            "not image/bmp",
        ),
        ({"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}}, "no audio input"),
        ({"type": "file", "file": {"file_id": "file-1"}}, "base64 data"),
    ],
)
def test_what_converse_cannot_take_is_a_clear_400(part: dict[str, Any], says: str) -> None:
    request = chat(messages=[USER, {"role": "user", "content": [text("x"), part]}])
    with pytest.raises(InvalidRequestError, match=says) as caught:
        converse_body(request, CLAUDE)
    assert caught.value.param == "messages[1].content[1]"


def test_cache_control_markers_become_cache_points() -> None:
    marker = {"type": "ephemeral"}
    body = body_of(
        messages=[
            {"role": "system", "content": [text("long rules", cache_control=marker)]},
            {"role": "user", "content": [text("doc", cache_control=marker), text("question")]},
            {"role": "assistant", "content": "answer", "cache_control": marker},
            {"role": "user", "content": "more"},
        ],
        tools=[{**WEATHER, "cache_control": marker}],
    )
    assert body["system"] == [{"text": "long rules"}, CACHE_POINT]
    assert body["messages"][0]["content"] == [{"text": "doc"}, CACHE_POINT, {"text": "question"}]
    assert body["messages"][1]["content"] == [{"text": "answer"}, CACHE_POINT]
    assert body["toolConfig"]["tools"][1] == CACHE_POINT


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "weather"}}, {"tool": {"name": "weather"}}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    assert body_of(tools=[WEATHER], tool_choice=choice)["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_sends_no_tools_unless_the_conversation_used_them() -> None:
    assert "toolConfig" not in body_of(tools=[WEATHER], tool_choice="none")
    call = {"id": "c", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    history = [
        USER,
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": "x"},
    ]
    config = body_of(messages=history, tools=[WEATHER], tool_choice="none")["toolConfig"]
    assert "toolChoice" not in config and config["tools"][0]["toolSpec"]["name"] == "weather"


def test_a_json_schema_is_a_forced_tool() -> None:
    format_ = {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}
    config = body_of(response_format=format_)["toolConfig"]
    assert config["toolChoice"] == {"tool": {"name": JSON_TOOL}}
    assert config["tools"][-1]["toolSpec"]["inputSchema"] == {"json": SCHEMA}


def test_reasoning_effort_becomes_claudes_thinking_budget() -> None:
    body = body_of(CLAUDE, reasoning_effort="medium")
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 8192}
    }
    assert body["inferenceConfig"] == {"maxTokens": 8192 + 4096}
    limited = body_of(CLAUDE, reasoning_effort="high", max_completion_tokens=3000)
    assert limited["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2999
    assert limited["inferenceConfig"] == {"maxTokens": 3000}


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("meta.llama3-70b-instruct-v1:0", {}),  # not Claude
        (CLAUDE, {"max_completion_tokens": 1000}),  # no room for the smallest budget
        (CLAUDE, {"tools": [WEATHER], "tool_choice": "required"}),  # Claude refuses both
        (CLAUDE, {"reasoning_effort": "none"}),
        (
            CLAUDE,
            {
                "messages": [
                    USER,
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "weather", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c", "content": "x"},
                ],
                "tools": [WEATHER],
            },
        ),  # a tool loop: Claude wants its signed thinking back
    ],
)
def test_when_thinking_is_not_asked_for(model: str, fields: dict[str, Any]) -> None:
    fields = {"reasoning_effort": "high", **fields}
    assert "additionalModelRequestFields" not in body_of(model, **fields)


# the whole answer


def answer(*blocks: dict[str, Any], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(blocks)}},
        "stopReason": stop,
        "usage": usage or {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
    }


def test_an_answer_with_reasoning_text_and_tool_calls() -> None:
    data = answer(
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
        {"text": "Let me check."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"a": 1}}},
        stop="tool_use",
        inputTokens=100,
        cacheReadInputTokens=300,
        cacheWriteInputTokens=200,
        outputTokens=50,
    )
    completion, usage = translate_answer(data, "alias", json_mode=False)
    assert usage == Usage(
        prompt_tokens=600, cached_tokens=300, completion_tokens=50, cache_write_tokens=200
    )
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Let me check.",
        "reasoning_content": "hmm",
        "tool_calls": [
            {
                "id": "tooluse_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"a":1}'},
            }
        ],
    }
    assert completion["usage"] == {
        "prompt_tokens": 600,
        "completion_tokens": 50,
        "total_tokens": 650,
        "prompt_tokens_details": {"cached_tokens": 300},
    }
    assert completion["model"] == "alias" and completion["object"] == "chat.completion"


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    completion, _ = translate_answer(answer({"text": "x"}, stop=stop), "m", json_mode=False)
    assert completion["choices"][0]["finish_reason"] == finish


def test_the_json_tools_input_is_the_content() -> None:
    data = answer(
        {"toolUse": {"toolUseId": "t", "name": JSON_TOOL, "input": {"a": 1}}}, stop="tool_use"
    )
    completion, _ = translate_answer(data, "m", json_mode=True)
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": '{"a":1}'}
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_an_answer_without_a_message_is_invalid() -> None:
    with pytest.raises(BadGatewayError) as caught:
        BedrockProvider().completion(chat(), b'{"output": {}}')
    assert caught.value.code == "upstream_invalid_response"


def test_bedrocks_error_bodies_are_read() -> None:
    assert error_message(b'{"message": "Malformed input request"}') == "Malformed input request"


def test_the_provider_is_registered() -> None:
    assert isinstance(providers()["bedrock"], BedrockProvider)
