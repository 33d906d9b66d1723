"""Gemini upstreams end to end: the real gateway, the official SDKs, a fake Gemini API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.api.providers.gemini.conftest import WRONG_KEY, Gemini
from tests.utils import anthropic_clients
from tests.utils.gemini_upstream import SIGNATURE
from tests.utils.openai_clients import sdk

HELLO: list[Any] = [{"role": "user", "content": "hello there"}]
COST = 4_625_000_000
"""usage-1000-300-50-200 at the stack's prices, in picodollars: 700 uncached prompt tokens
x 2.5 + 300 cached x 1.25 + (50 answer + 200 thought) x 10, per million."""
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
    {"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}},
]


def raw_chat(gemini: Gemini, model: str, **extra: Any) -> httpx.Response:
    with gemini.stack.client() as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": HELLO, **extra}
        )


def test_a_whole_completion(gemini: Gemini) -> None:
    raw = sdk(gemini.stack).chat.completions.with_raw_response.create(
        model="google/gemini",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        temperature=0.5,
        max_tokens=100,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gemini-fake-001" and completion.id == "chatcmpl-resp-1"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details and usage.completion_tokens_details
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1000, 300)
    assert (usage.completion_tokens, usage.completion_tokens_details.reasoning_tokens) == (250, 200)
    seen = gemini.fake.seen[-1]
    assert seen.path == "/v1beta/models/usage-1000-300-50-200:generateContent"
    assert seen.headers["x-goog-api-key"] == gemini.fake.api_key
    assert "authorization" not in {name.lower() for name in seen.headers}
    assert seen.body == {
        "contents": [{"role": "user", "parts": [{"text": "hello there"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"maxOutputTokens": 100, "temperature": 0.5},
    }
    row = gemini.stack.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (
        1000,
        300,
        250,
    )
    assert row["cost_pusd"] == COST and row["estimated"] == 0


def test_tool_use_prompt_tokens_are_billed_as_prompt(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/tool-use")
    assert response.status_code == 200, response.text
    assert gemini.fake.seen[-1].path == "/v1beta/models/usage-1000-300-50-200-20:generateContent"
    assert response.json()["usage"]["prompt_tokens"] == 1020
    row = gemini.stack.row(response.headers["x-request-id"])
    assert row["cost_pusd"] == COST + 20 * 2_500_000


def test_a_stream_through_the_openai_sdk(gemini: Gemini) -> None:
    stream = sdk(gemini.stack).chat.completions.create(
        model="google/gemini",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1000, 300)
    assert usage.completion_tokens == 250  # the last event's, not a sum of the cumulative ones
    seen = gemini.fake.seen[-1]
    assert seen.path == "/v1beta/models/usage-1000-300-50-200:streamGenerateContent?alt=sse"


def test_a_stream_is_billed_without_usage_asked(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/gemini", stream=True)
    assert response.status_code == 200
    assert '"usage"' not in response.text and response.text.endswith("data: [DONE]\n\n")
    row = gemini.stack.row(response.headers["x-request-id"])
    assert row["cost_pusd"] == COST and row["estimated"] == 0


def test_reasoning_comes_back_as_reasoning_content(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/gemini", reasoning_effort="medium")
    message = response.json()["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": "echo: hello there",
        "reasoning_content": "thinking about: hello there",
    }
    config = gemini.fake.seen[-1].body["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True}}
    stream = sdk(gemini.stack).chat.completions.create(
        model="google/gemini",
        messages=HELLO,
        stream=True,
        reasoning_effort="high",
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert "".join((d.model_extra or {}).get("reasoning_content", "") for d in deltas) == (
        "thinking about: hello there"
    )


def test_a_tool_loop_keeps_geminis_thought_signatures(gemini: Gemini) -> None:
    client = sdk(gemini.stack)
    messages: list[Any] = [{"role": "user", "content": "weather and time in Paris?"}]
    first = client.chat.completions.create(model="google/gemini-3", messages=messages, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("clock", {"city": "Paris"}),
    ]
    assert gemini.fake.seen[-1].body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "The weather in a city.",
                    "parametersJsonSchema": TOOLS[0]["function"]["parameters"],
                },
                {"name": "clock", "parametersJsonSchema": {"type": "object"}},
            ]
        }
    ]
    messages.append(choice.message)  # the SDK's own object, sent back as it came
    messages += [
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "noon"},
    ]
    second = client.chat.completions.create(model="google/gemini-3", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == (
        'results: [{"name": "weather", "response": {"temp": 21}}, '
        '{"name": "clock", "response": {"result": "noon"}}]'
    )
    sent = gemini.fake.seen[-1].body["contents"]
    assert [c["role"] for c in sent] == ["user", "model", "user"]
    assert sent[1]["parts"][0]["thoughtSignature"] == SIGNATURE  # Gemini's own, back again
    assert "thoughtSignature" not in sent[1]["parts"][1]


def test_a_tool_loop_whose_client_dropped_the_signature_still_works(gemini: Gemini) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    response = raw_chat(gemini, "google/gemini-3", messages=messages, tools=TOOLS[:1])
    assert response.status_code == 200, response.text
    parts = gemini.fake.seen[-1].body["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == "skip_thought_signature_validator"


def test_a_streamed_tool_call(gemini: Gemini) -> None:
    stream = sdk(gemini.stack).chat.completions.create(
        model="google/gemini-3",
        messages=HELLO,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "weather"}},
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
    assert [(c.index, c.function.name, c.function.arguments) for c in calls] == [
        (0, "weather", '{"city":"Paris"}'),
        (1, "clock", '{"city":"Paris"}'),
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert gemini.fake.seen[-1].body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}
    }


def test_images(gemini: Gemini) -> None:
    content = [
        {"type": "text", "text": "what are these?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp"}},
    ]
    completion = sdk(gemini.stack).chat.completions.create(
        model="google/gemini",
        messages=[{"role": "user", "content": content}],
    )
    assert completion.choices[0].message.content == "echo: what are these?"
    assert gemini.fake.seen[-1].body["contents"][0]["parts"] == [
        {"text": "what are these?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://example.com/cat.webp", "mimeType": "image/webp"}},
    ]


def test_a_json_schema_answer(gemini: Gemini) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    completion = sdk(gemini.stack).chat.completions.create(
        model="google/json",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    assert json.loads(completion.choices[0].message.content or "") == {"answer": "hello there"}
    assert gemini.fake.seen[-1].body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


def test_the_messages_api_with_thinking(gemini: Gemini) -> None:
    message = anthropic_clients.sdk(gemini.stack).messages.create(
        model="google/gemini",
        max_tokens=20000,
        thinking={"type": "enabled", "budget_tokens": 2048},
        system="Be brief.",
        messages=[{"role": "user", "content": "hi there"}],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "thinking about: hi there"
    assert message.content[1].text == "echo: hi there"
    assert message.stop_reason == "end_turn"
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (
        700,
        300,
        250,
    )
    body = gemini.fake.seen[-1].body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024,
        "includeThoughts": True,
    }  # the Messages API asks for effort "low" (a budget under 4096), Google's 1024 tokens


def test_a_streamed_tool_call_through_the_messages_api(gemini: Gemini) -> None:
    tool = {"name": "weather", "input_schema": {"type": "object"}}
    with anthropic_clients.sdk(gemini.stack).messages.stream(
        model="google/gemini-3",
        max_tokens=100,
        tools=[tool],
        messages=[{"role": "user", "content": "weather?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [
        (b.type, getattr(b, "name", None), getattr(b, "input", None)) for b in final.content
    ] == [("tool_use", "weather", {"city": "Paris"})]


@pytest.mark.parametrize("stream", [False, True])
def test_a_blocked_prompt_is_filtered(gemini: Gemini, stream: bool) -> None:
    if not stream:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk(gemini.stack).chat.completions.create(model="google/blocked", messages=HELLO)
        assert caught.value.code == "content_filter"
        assert "blocked the prompt (SAFETY)" in caught.value.message
        return
    chunks = list(
        sdk(gemini.stack).chat.completions.create(
            model="google/blocked",
            messages=HELLO,
            stream=True,
        )
    )
    assert [c.choices[0].finish_reason for c in chunks][-1] == "content_filter"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ""


def test_a_filtered_answer_says_so(gemini: Gemini) -> None:
    body = raw_chat(gemini, "google/safety").json()
    choice = body["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("content_filter", "Here is")


def test_geminis_400_reaches_the_client(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/gemini", messages=[{"role": "system", "content": "x"}])
    assert response.status_code == 400
    assert "contents is not specified" in response.json()["error"]["message"]


def test_an_unreadable_answer_is_a_502(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/garbage")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"


def test_a_stream_cut_short_says_so(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/truncated", stream=True)
    assert "echo: hello there" in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content", "")
        for line in response.text.splitlines()
        if line.startswith("data: {") and '"choices"' in line
    )
    assert "the stream ended before the answer did" in response.text
    assert "data: [DONE]" not in response.text


def test_a_failed_upstream_falls_back(gemini: Gemini) -> None:
    response = raw_chat(gemini, "google/fallback")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"


def test_refused_credentials_name_no_secret(gemini: Gemini) -> None:
    keyless = raw_chat(gemini, "google/keyless")  # Gemini: 403 without a key
    assert keyless.status_code == 502
    assert "refused the gateway's credentials (403)" in keyless.json()["error"]["message"]
    assert "x-goog-api-key" not in gemini.fake.seen[-1].headers
    wrong = raw_chat(gemini, "google/wrong-key")  # Gemini: 400 API_KEY_INVALID
    assert wrong.status_code == 502  # the gateway's key, not the caller's mistake
    assert "refused the gateway's credentials (401)" in wrong.json()["error"]["message"]
    assert WRONG_KEY not in wrong.text
    log = gemini.stack.gateway.log()
    assert gemini.fake.api_key not in log and WRONG_KEY not in log
    assert all("key=" not in seen.path for seen in gemini.fake.seen)
