"""Whole chat completions as Response objects, and Anthropic upstreams both ways.

Each response is validated with the OpenAI SDK's ``Response`` model.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from quantized.errors import BadGatewayError
from quantized.gateway.providers.anthropic import AnthropicProvider
from quantized.gateway.providers.openai import OpenAIProvider
from quantized.gateway.responses.from_chat import whole_response
from quantized.gateway.responses.request import ResponsesRequest
from quantized.gateway.responses.to_chat import translate
from quantized.gateway.streams import Usage
from tests.gateway.responses.support import model, request, stream, valid_response

TOOLS = [
    {"type": "function", "name": "read", "parameters": {"type": "object"}},
    {"type": "custom", "name": "apply_patch"},
    {
        "type": "namespace",
        "name": "crm",
        "description": "CRM tools.",
        "tools": [{"type": "function", "name": "lookup"}],
    },
]


def completion(message: dict[str, Any], finish: str = "stop", **usage: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "up",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": usage or None,
    }


def whole(data: bytes | dict[str, Any], found: ResponsesRequest | None = None) -> dict[str, Any]:
    found = found or request(tools=TOOLS)
    translation = translate(found, model())
    body = data if isinstance(data, bytes) else orjson.dumps(data)
    chat, usage = OpenAIProvider().completion(translation.chat, body)
    response = whole_response(chat, usage, found, translation, "resp_9", 1_700_000_000)
    valid_response(response)
    return response


def test_text_and_reasoning() -> None:
    response = whole(completion({"content": "Hi.", "reasoning_content": "A greeting."}))
    reasoning, message = response["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "A greeting."}]
    assert message["content"] == [
        {"type": "output_text", "text": "Hi.", "annotations": [], "logprobs": []}
    ]
    assert (response["id"], response["created_at"], response["status"]) == (
        "resp_9",
        1_700_000_000,
        "completed",
    )
    assert response["model"] == "acme/m" and response["error"] is None


def test_usage_with_cached_and_reasoning_tokens() -> None:
    answer = completion(
        {"content": "a"},
        prompt_tokens=120,
        completion_tokens=40,
        prompt_tokens_details={"cached_tokens": 100},
        completion_tokens_details={"reasoning_tokens": 32},
    )
    assert whole(answer)["usage"] == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 32},
        "total_tokens": 160,
    }


def test_function_custom_and_namespaced_calls() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}},
        {
            "id": "c2",
            "type": "function",
            "function": {"name": "apply_patch", "arguments": '{"input": "*** Begin Patch"}'},
        },
        {"id": "c3", "type": "function", "function": {"name": "crm__lookup", "arguments": ""}},
    ]
    output = whole(completion({"content": None, "tool_calls": calls}, "tool_calls"))["output"]
    assert [(i["type"], i["call_id"], i["name"], i.get("namespace")) for i in output] == [
        ("function_call", "c1", "read", None),
        ("custom_tool_call", "c2", "apply_patch", None),
        ("function_call", "c3", "lookup", "crm"),
    ]
    assert output[1]["input"] == "*** Begin Patch" and output[2]["arguments"] == "{}"
    assert [i["id"][:3] for i in output] == ["fc_", "ctc", "fc_"]


def test_a_custom_call_whose_arguments_are_not_an_input_object_passes_them_on() -> None:
    calls = [{"id": "c", "function": {"name": "apply_patch", "arguments": "not json"}}]
    (item,) = whole(completion({"tool_calls": calls}, "tool_calls"))["output"]
    assert item["input"] == "not json"


def test_a_length_finish_is_incomplete() -> None:
    response = whole(completion({"content": "Once upon"}, "length"))
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    assert "completed_at" not in response


def test_an_answer_that_is_not_json_is_a_bad_gateway() -> None:
    with pytest.raises(BadGatewayError):
        whole(b"<html>oops</html>")


# Anthropic: its provider makes the chat completion, the translation the rest

ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-up",
    "content": [
        {"type": "text", "text": "Patching."},
        {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": "P"}},
    ],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 7},
}


def test_an_anthropic_answer() -> None:
    found = request(tools=TOOLS)
    translation = translate(found, model())
    provider = AnthropicProvider()
    chat, usage = provider.completion(translation.chat, orjson.dumps(ANTHROPIC_MESSAGE))
    response = whole_response(chat, usage, found, translation, "resp_a", 1)
    valid_response(response)
    message, patch = response["output"]
    assert message["content"][0]["text"] == "Patching."
    assert (patch["type"], patch["call_id"], patch["input"]) == ("custom_tool_call", "toolu_1", "P")
    assert response["usage"]["input_tokens"] == 100
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == 90


def sse(kind: str, **data: Any) -> bytes:
    return (
        b"event: "
        + kind.encode()
        + b"\ndata: "
        + json.dumps({"type": kind, **data}).encode()
        + b"\n\n"
    )


def test_an_anthropic_stream_reports_its_usage() -> None:
    usage = {"input_tokens": 30, "cache_read_input_tokens": 50, "output_tokens": 1}
    text = {"type": "text", "text": ""}
    found = stream(
        sse("message_start", message={"id": "msg_1", "model": "claude-up", "usage": usage}),
        sse("content_block_start", index=0, content_block=text),
        sse("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hi"}),
        sse("content_block_stop", index=0),
        sse("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 42}),
        sse("message_stop"),
        found=request(stream=True),
        provider=AnthropicProvider(),
    )
    assert found.response["output"][0]["content"][0]["text"] == "Hi"
    assert (found.response["usage"]["input_tokens"], found.response["usage"]["output_tokens"]) == (
        80,
        42,
    )
    assert found.translator.usage == Usage(prompt_tokens=80, cached_tokens=50, completion_tokens=42)
