"""The Gemini provider's translations, both ways, on raw bodies and bytes."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from quantized.catalog.model import Upstream
from quantized.errors import BadGatewayError, UpstreamRejected
from quantized.gateway.providers import providers
from quantized.gateway.providers.gemini import GeminiProvider
from quantized.gateway.providers.gemini_answer import gemini_usage, translate_answer
from quantized.gateway.providers.gemini_request import (
    SKIP_SIGNATURE,
    gemini_body,
    translate_messages,
)
from quantized.gateway.streams import DONE, Usage
from quantized.gateway.surfaces.chat import ChatRequest, parse_chat_request
from tests.utils.gemini_upstream import check_request

USER = {"role": "user", "content": "hi"}
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")


def chat(*messages: dict[str, Any], **fields: Any) -> ChatRequest:
    body = {"model": "alias", "messages": list(messages or [USER]), **fields}
    return parse_chat_request(orjson.dumps(body))


def upstream(model: str = "gemini-2.5-flash", base: str = "https://g.example/v1beta") -> Upstream:
    return Upstream(provider="gemini", base_url=base, model=model, api_key_env="GEMINI_API_KEY")


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def call(call_id: str, name: str, arguments: str, signature: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    if signature is not None:
        found["extra_content"] = {"google": {"thought_signature": signature}}
    return found


# requests


def test_the_provider_is_registered_and_calls_the_native_api() -> None:
    provider = providers()["gemini"]
    assert isinstance(provider, GeminiProvider)
    whole = provider.call(chat(), upstream("models/gemini-2.5-flash"), "secret-key")
    assert whole.url == "https://g.example/v1beta/models/gemini-2.5-flash:generateContent"
    assert (b"x-goog-api-key", b"secret-key") in whole.headers
    assert b"secret-key" not in whole.url.encode() and b"secret-key" not in whole.body
    vertex = "https://aiplatform.googleapis.com/v1/publishers/google/"
    streamed = provider.call(chat(stream=True), upstream(base=vertex), None)
    assert streamed.url == (
        "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash"
        ":streamGenerateContent?alt=sse"
    )
    assert not any(name == b"x-goog-api-key" for name, _ in streamed.headers)
    assert orjson.loads(streamed.body) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}]
    }


def test_system_messages_and_merged_turns() -> None:
    system, contents = translate_messages(
        [
            {"role": "system", "content": "one"},
            USER,
            {"role": "developer", "content": [text("two"), text(" more")]},
            {"role": "user", "content": [text("a"), text(""), text("b")]},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": None},
            {"role": "assistant", "content": [text("d")]},
            {"role": "user", "content": ""},
            {"role": "user", "content": "e"},
        ]
    )
    assert system == [{"text": "one"}, {"text": "two more"}]
    assert contents == [
        {"role": "user", "parts": [{"text": "hi"}, {"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}, {"text": "d"}]},
        {"role": "user", "parts": [{"text": "e"}]},
    ]


def test_images_audio_and_files() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg?size=2"}},
        {"type": "image_url", "image_url": "gs://bucket/photo"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
        },
        text("what is this?"),
    ]
    _, contents = translate_messages([{"role": "user", "content": parts}])
    assert contents[0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg?size=2", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "gs://bucket/photo"}},
        {"inlineData": {"mimeType": "audio/mpeg", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        {"text": "what is this?"},
    ]


def test_a_video_or_file_reference_is_the_clients_400() -> None:
    from quantized.errors import InvalidRequestError

    video = {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "x"}}]}
    with pytest.raises(InvalidRequestError) as caught:
        translate_messages([video])
    assert caught.value.param == "messages[0].content[0]"
    with pytest.raises(InvalidRequestError, match="base64 data URLs"):
        translate_messages(
            [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]
        )


def test_tool_calls_and_results_with_signatures() -> None:
    calls = [call("t1", "weather", '{"city": "Paris"}', "c2ln"), call("t2", "time", "")]
    _, contents = translate_messages(
        [
            USER,
            {"role": "assistant", "content": "let me see", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "t1", "content": '{"temp": 21}'},
            {"role": "tool", "tool_call_id": "t2", "content": [text("no"), text("on")]},
            {"role": "user", "content": "thanks"},
            {"role": "assistant", "tool_calls": [call("t3", "weather", "[1]")]},
            {"role": "tool", "tool_call_id": "t3", "content": "[1, 2]"},
            {"role": "function", "name": "legacy", "content": "not json {"},
        ],
        "gemini-3-pro-preview",
    )
    assert contents == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {
            "role": "model",
            "parts": [
                {"text": "let me see"},
                {
                    "functionCall": {"name": "weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "c2ln",
                },
                {"functionCall": {"name": "time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "weather", "response": {"temp": 21}}},
                {"functionResponse": {"name": "time", "response": {"result": "noon"}}},
                {"text": "thanks"},
            ],
        },
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "weather", "args": {"value": [1]}},
                    "thoughtSignature": SKIP_SIGNATURE,
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "weather", "response": {"result": [1, 2]}}},
                {"functionResponse": {"name": "legacy", "response": {"result": "not json {"}}},
            ],
        },
    ]
    check_request({"contents": contents}, "gemini-3-pro-preview")


def test_older_models_get_no_placeholder_signature() -> None:
    messages = [USER, {"role": "assistant", "tool_calls": [call("t1", "f", "{}")]}]
    for model in ("gemini-2.5-flash", "gemini-1.5-pro-002", "gemini-2.0-flash"):
        _, contents = translate_messages(messages, model)
        assert contents[1]["parts"] == [{"functionCall": {"name": "f", "args": {}}}]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["weather"]},
        ),
        (None, None),
    ],
)
def test_tools_and_tool_choice(choice: Any, config: dict[str, Any] | None) -> None:
    bare = {"type": "function", "function": {"name": "now", "parameters": {}}}
    fields: dict[str, Any] = {"tools": [WEATHER, bare]}
    if choice is not None:
        fields["tool_choice"] = choice
    body = gemini_body(chat(**fields), "gemini-2.5-flash")
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "The weather in a city.",
                    "parametersJsonSchema": WEATHER["function"]["parameters"],
                },
                {"name": "now"},
            ]
        }
    ]
    assert body.get("toolConfig") == (None if config is None else {"functionCallingConfig": config})
    check_request(body, "gemini-2.5-flash")
    assert "toolConfig" not in gemini_body(chat(tool_choice="auto"), "m")


def test_generation_config() -> None:
    body = gemini_body(
        chat(
            max_completion_tokens=300,
            max_tokens=50,
            temperature=0.2,
            top_p=0.9,
            stop="END",
            n=2,
            seed=7,
            presence_penalty=0.5,
            frequency_penalty=-0.5,
            user="someone",
            parallel_tool_calls=False,
        ),
        "gemini-2.5-flash",
    )
    assert body["generationConfig"] == {
        "maxOutputTokens": 300,
        "temperature": 0.2,
        "topP": 0.9,
        "candidateCount": 2,
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "stopSequences": ["END"],
    }
    assert set(body) == {"contents", "generationConfig"}
    assert gemini_body(chat(max_tokens=50, stop=["a", "b"]), "m")["generationConfig"] == {
        "maxOutputTokens": 50,
        "stopSequences": ["a", "b"],
    }


def test_response_formats() -> None:
    schema_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}
    assert gemini_body(chat(response_format=schema_format), "m")["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }
    assert gemini_body(chat(response_format={"type": "json_object"}), "m")["generationConfig"] == {
        "responseMimeType": "application/json"
    }
    assert "generationConfig" not in gemini_body(chat(response_format={"type": "text"}), "m")


@pytest.mark.parametrize(
    ("fields", "thinking"),
    [
        ({"reasoning_effort": "low"}, {"thinkingBudget": 1024, "includeThoughts": True}),
        ({"reasoning_effort": "medium"}, {"thinkingBudget": 8192, "includeThoughts": True}),
        ({"reasoning_effort": "high"}, {"thinkingBudget": 24576, "includeThoughts": True}),
        ({"reasoning_effort": "none"}, {"thinkingBudget": 0}),
        ({"reasoning": {"effort": "minimal"}}, {"thinkingBudget": 1024, "includeThoughts": True}),
        ({"reasoning": {"max_tokens": 3000}}, {"thinkingBudget": 3000, "includeThoughts": True}),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 5000}, "reasoning_effort": "low"},
            {"thinkingBudget": 5000, "includeThoughts": True},
        ),
        ({"thinking": {"type": "disabled"}}, {"thinkingBudget": 0}),
        (
            {
                "reasoning_effort": "high",
                "extra_body": {"google": {"thinking_config": {"thinking_level": "low"}}},
            },
            {"includeThoughts": True, "thinkingLevel": "low"},
        ),
        ({"reasoning_effort": "bogus"}, None),
    ],
)
def test_reasoning(fields: dict[str, Any], thinking: dict[str, Any] | None) -> None:
    body = gemini_body(chat(**fields), "gemini-2.5-flash")
    assert (body.get("generationConfig") or {}).get("thinkingConfig") == thinking
    check_request(body, "gemini-2.5-flash")


def test_googles_extra_body() -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    google = {"cached_content": "cachedContents/abc", "safety_settings": safety}
    body = gemini_body(chat(extra_body={"google": google}), "m")
    assert body["cachedContent"] == "cachedContents/abc" and body["safetySettings"] == safety
    check_request(body, "m")


# whole answers

USAGE = {
    "promptTokenCount": 1000,
    "cachedContentTokenCount": 300,
    "candidatesTokenCount": 50,
    "thoughtsTokenCount": 200,
    "toolUsePromptTokenCount": 7,
    "totalTokenCount": 1257,
}


def answer(*candidates: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"candidates": list(candidates), "modelVersion": "gemini-2.5-flash", **fields}


def test_usage_counts_cache_thoughts_and_tool_prompts() -> None:
    assert gemini_usage(USAGE) == (
        Usage(prompt_tokens=1007, cached_tokens=300, completion_tokens=250),
        200,
    )
    assert gemini_usage({"promptTokenCount": 4}) == (Usage(prompt_tokens=4), 0)
    assert gemini_usage(None) == (Usage(), 0)


def test_a_text_answer_with_thoughts() -> None:
    data = answer(
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Let me think", "thought": True},
                    {"text": ".", "thought": True},
                    {"text": "Hello", "thoughtSignature": "c2ln"},
                    {"text": " there"},
                ],
            },
            "finishReason": "STOP",
        },
        usageMetadata=USAGE,
        responseId="abc",
    )
    body, usage = GeminiProvider().completion(chat(), orjson.dumps(data))
    completion = orjson.loads(body)
    assert isinstance(completion.pop("created"), int)
    assert completion == {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "model": "gemini-2.5-flash",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello there",
                    "reasoning_content": "Let me think.",
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 1007,
            "completion_tokens": 250,
            "total_tokens": 1257,
            "prompt_tokens_details": {"cached_tokens": 300},
            "completion_tokens_details": {"reasoning_tokens": 200},
        },
    }
    assert usage == Usage(prompt_tokens=1007, cached_tokens=300, completion_tokens=250)


def test_function_calls_become_tool_calls() -> None:
    parts = [
        {
            "functionCall": {"name": "weather", "args": {"city": "Paris"}},
            "thoughtSignature": "c2ln",
        },
        {"functionCall": {"name": "now"}},
    ]
    completion, _ = translate_answer(
        answer({"content": {"role": "model", "parts": parts}, "finishReason": "STOP"})
    )
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert all(CALL_ID.match(c["id"]) for c in calls) and calls[0]["id"] != calls[1]["id"]
    assert [{k: v for k, v in c.items() if k != "id"} for c in calls] == [
        {
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            "extra_content": {"google": {"thought_signature": "c2ln"}},
        },
        {"type": "function", "function": {"name": "now", "arguments": "{}"}},
    ]
    # sent back, the calls carry their signatures to Gemini again
    _, contents = translate_messages([USER, choice["message"]], "gemini-3-flash")
    assert contents[1]["parts"][0]["thoughtSignature"] == "c2ln"
    assert "thoughtSignature" not in contents[1]["parts"][1]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reasons(reason: str | None, finish: str) -> None:
    candidate: dict[str, Any] = {"finishReason": reason} if reason else {}
    completion, _ = translate_answer(answer(candidate))
    assert completion["choices"][0]["finish_reason"] == finish
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": None}


def test_candidates_become_choices() -> None:
    completion, _ = translate_answer(
        answer(
            {"index": 1, "content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"},
            {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"},
        )
    )
    assert [(c["index"], c["message"]["content"]) for c in completion["choices"]] == [
        (0, "a"),
        (1, "b"),
    ]


def test_a_blocked_prompt_is_the_clients_400() -> None:
    data = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 9},
    }
    with pytest.raises(UpstreamRejected) as caught:
        GeminiProvider().completion(chat(), orjson.dumps(data))
    error = caught.value
    assert (error.status, error.code, error.param) == (400, "content_filter", "messages")
    assert "blocked the prompt (PROHIBITED_CONTENT)" in error.message


@pytest.mark.parametrize(
    "body",
    [
        b"<html>",
        b"[]",
        b"{}",
        b'{"candidates": {"a": 1}}',
        b'{"candidates": [{"content": {"parts": "text"}}]}',
    ],
)
def test_an_unreadable_answer_is_the_upstreams_fault(body: bytes) -> None:
    with pytest.raises(BadGatewayError) as caught:
        GeminiProvider().completion(chat(), body)
    assert caught.value.code == "upstream_invalid_response"


def test_an_error_in_a_200_answer_is_reported() -> None:
    data = {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
    with pytest.raises(BadGatewayError, match=r"\(INTERNAL\): Internal error encountered"):
        translate_answer(data)


# streams


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\r\n\r\n" for e in events)


def streamed(data: bytes, include_usage: bool = True, step: int = 7) -> list[dict[str, Any]]:
    """The chunks sent for ``data`` fed a few bytes at a time."""
    translator = GeminiProvider().translator(
        chat(stream=True, stream_options={"include_usage": include_usage})
    )
    out = [e for i in range(0, len(data), step) for e in translator.feed(data[i : i + step])]
    out += translator.finish()
    assert out[-1] == DONE
    return [orjson.loads(e.removeprefix(b"data: ")) for e in out[:-1]]


def piece(*parts: dict[str, Any], finish: str | None = None, **usage: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, "responseId": "r1"}


def test_a_stream_of_text_and_thoughts() -> None:
    data = sse(
        piece({"text": "hmm", "thought": True}, promptTokenCount=10, thoughtsTokenCount=4),
        piece({"text": "Hel"}, promptTokenCount=10, candidatesTokenCount=1, thoughtsTokenCount=4),
        piece(
            {"text": "lo"},
            finish="STOP",
            promptTokenCount=10,
            cachedContentTokenCount=6,
            candidatesTokenCount=2,
            thoughtsTokenCount=4,
        ),
    )
    chunks = streamed(data)
    assert {c["id"] for c in chunks} == {"chatcmpl-r1"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hmm"},
        {"content": "Hel"},
        {"content": "lo"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * 4 + ["stop"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 6,
        "total_tokens": 16,
        "prompt_tokens_details": {"cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    without = streamed(data, include_usage=False)
    assert all("usage" not in c for c in without) and len(without) == 5


def test_a_stream_keeps_the_last_usage() -> None:
    translator = GeminiProvider().translator(chat(stream=True))
    translator.feed(sse(piece({"text": "a"}, promptTokenCount=10, candidatesTokenCount=1)))
    translator.feed(
        sse(piece({"text": "b"}, finish="STOP", promptTokenCount=10, candidatesTokenCount=2))
    )
    assert translator.usage == Usage(prompt_tokens=10, completion_tokens=2)
    assert translator.chunks == 2
    assert translator.finish() == [DONE]


def test_a_stream_of_tool_calls() -> None:
    data = sse(
        piece(
            {
                "functionCall": {"name": "weather", "args": {"city": "Paris"}},
                "thoughtSignature": "c2ln",
            }
        ),
        piece({"functionCall": {"name": "now", "args": {}}}, finish="STOP", promptTokenCount=3),
    )
    chunks = streamed(data)
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:3]]
    assert [(c["index"], c["function"]) for c in calls] == [
        (0, {"name": "weather", "arguments": '{"city":"Paris"}'}),
        (1, {"name": "now", "arguments": "{}"}),
    ]
    assert all(CALL_ID.match(c["id"]) and c["type"] == "function" for c in calls)
    assert calls[0]["extra_content"] == {"google": {"thought_signature": "c2ln"}}
    assert chunks[3]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_stream_of_several_candidates() -> None:
    data = sse(
        {
            "candidates": [
                {"content": {"parts": [{"text": "a"}]}},
                {"index": 1, "content": {"parts": [{"text": "b"}]}, "finishReason": "MAX_TOKENS"},
            ]
        },
        {"candidates": [{"content": {"parts": [{"text": "c"}]}, "finishReason": "STOP"}]},
    )
    found = [
        (c["choices"][0]["index"], c["choices"][0]["delta"], c["choices"][0]["finish_reason"])
        for c in streamed(data, include_usage=False)
    ]
    assert found == [
        (0, {"role": "assistant", "content": ""}, None),
        (0, {"content": "a"}, None),
        (1, {"role": "assistant", "content": ""}, None),
        (1, {"content": "b"}, None),
        (1, {}, "length"),
        (0, {"content": "c"}, None),
        (0, {}, "stop"),
    ]


def test_a_blocked_prompt_ends_a_stream_filtered() -> None:
    data = sse(
        {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}}
    )
    chunks = streamed(data)
    assert [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks[:2]] == [
        ({"role": "assistant", "content": ""}, None),
        ({}, "content_filter"),
    ]
    assert chunks[2]["usage"]["prompt_tokens"] == 8


def test_a_stream_cut_short_or_broken_is_the_upstreams_fault() -> None:
    translator = GeminiProvider().translator(chat(stream=True))
    assert len(translator.feed(sse(piece({"text": "a"})))) == 2
    with pytest.raises(BadGatewayError) as caught:
        translator.finish()
    assert caught.value.code == "upstream_invalid_response"
    with pytest.raises(BadGatewayError) as caught:
        GeminiProvider().translator(chat(stream=True)).feed(b"data: {not json\r\n\r\n")
    assert caught.value.code == "upstream_invalid_response"
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    with pytest.raises(BadGatewayError, match="UNAVAILABLE"):
        GeminiProvider().translator(chat(stream=True)).feed(sse(error))
