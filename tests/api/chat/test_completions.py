"""Chat completions end to end through the official SDK: both providers, streams, tools."""

from __future__ import annotations

import asyncio
import base64

import pytest
from openai import AsyncOpenAI, OpenAI

from tests.utils.stacks import PROVIDER_KEY, Stack

MODELS = ["fake/gpt", "fake/claude"]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def sdk(stack: Stack) -> OpenAI:
    return OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_completion(stack: Stack, model: str) -> None:
    reply = sdk(stack).chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
    )
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.startswith("echo: hello")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (100, 20)
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 40


def test_requests_reach_the_upstream_as_the_catalog_says(stack: Stack) -> None:
    sdk(stack).chat.completions.create(
        model="fake/claude",
        messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        max_tokens=77,
    )
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == PROVIDER_KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body["system"] == "S" and seen.body["max_tokens"] == 77
    assert seen.body["model"] == "usage-100-40-20"
    sdk(stack).chat.completions.create(
        model="fake/gpt", messages=[{"role": "user", "content": "U"}], temperature=0.3, seed=7
    )
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert seen.body["model"] == "usage-100-40-20"
    assert (seen.body["temperature"], seen.body["seed"]) == (0.3, 7)  # unknown fields pass


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("include_usage", [False, True])
def test_stream(stack: Stack, model: str, include_usage: bool) -> None:
    options = {"include_usage": True} if include_usage else None
    stream = sdk(stack).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "stream this"}],
        stream=True,
        stream_options=options,
    )
    text, usages, finish = [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(text).strip().startswith("echo: stream this")
    assert finish == "stop"
    if include_usage:
        assert len(usages) == 1 and usages[0].completion_tokens == 20
    else:
        assert usages == []
    assert stack.upstream.seen[-1].body.get("stream") is True


@pytest.mark.parametrize("model", MODELS)
def test_tools(stack: Stack, model: str) -> None:
    reply = sdk(stack).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=TOOLS,
        tool_choice="auto",
    )
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments.replace(" ", "") == '{"city":"Paris"}'  # type: ignore[union-attr]
    assert reply.choices[0].finish_reason == "tool_calls"
    history = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        {"role": "user", "content": "thanks"},
    ]
    again = sdk(stack).chat.completions.create(model=model, messages=history)  # type: ignore[arg-type]
    assert again.choices[0].message.content is not None


def test_streamed_tool_calls_from_anthropic(stack: Stack) -> None:
    stream = sdk(stack).chat.completions.create(
        model="fake/claude",
        messages=[{"role": "user", "content": "weather?"}],
        tools=TOOLS,
        stream=True,
    )
    name, arguments, finish = "", "", None
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                name += call.function.name or "" if call.function else ""
                arguments += call.function.arguments or "" if call.function else ""
            finish = choice.finish_reason or finish
    assert name == "get_weather" and arguments.replace(" ", "") == '{"city":"Paris"}'
    assert finish == "tool_calls"


@pytest.mark.parametrize("model", MODELS)
def test_json_schema_response_format(stack: Stack, model: str) -> None:
    reply = sdk(stack).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "ok?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "ok",
                "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
            },
        },
    )
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.replace(" ", "") == '{"ok":true}'
    assert reply.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", MODELS)
def test_image_parts(stack: Stack, model: str) -> None:
    reply = sdk(stack).chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            }
        ],
    )
    assert "(saw 1 images)" in (reply.choices[0].message.content or "")
    if model == "fake/claude":
        block = stack.upstream.seen[-1].body["messages"][0]["content"][1]
        assert block == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
        }


def test_async_client(stack: Stack) -> None:
    async def scenario() -> list[str]:
        client = AsyncOpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1")
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(model=m, messages=[{"role": "user", "content": m}])
                for m in MODELS * 5
            )
        )
        stream = await client.chat.completions.create(
            model="fake/gpt", messages=[{"role": "user", "content": "async stream"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await client.close()
        return [r.choices[0].message.content or "" for r in replies] + [text]

    answers = asyncio.run(scenario())
    assert all(a.startswith("echo:") for a in answers)
    assert answers[-1].strip().startswith("echo: async stream")


def test_upstream_connections_are_kept_alive(stack: Stack) -> None:
    client = sdk(stack)
    for _ in range(5):
        client.chat.completions.create(
            model="fake/gpt", messages=[{"role": "user", "content": "k"}]
        )
    ports = {seen.client_port for seen in stack.upstream.seen[-5:]}
    assert len(ports) == 1  # one pooled connection served all five
