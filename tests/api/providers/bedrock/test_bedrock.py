"""AWS Bedrock upstreams end to end: the real gateway, the official SDKs, and a fake
Bedrock runtime that checks every SigV4 signature with botocore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.api.providers.bedrock.conftest import (
    ENV_KEYS,
    PROFILE_KEYS,
    Bedrock,
    start_bedrock_gateway,
)
from tests.utils import anthropic_clients
from tests.utils.aws import SIGNATURE_MISMATCH
from tests.utils.bedrock_upstream import REASONING, FakeBedrock
from tests.utils.openai_clients import sdk, sse_events

HELLO = [{"role": "user", "content": "hello there"}]
CLAUDE_COST = 4_000_000_000
"""anthropic.usage-1000-300-200-50 at the stack's prices, in pico-USD: (1000 x 2.5 input +
300 x 1.25 cache read + 200 x 3.125 cache write + 50 x 10 output) / 1e6 USD."""
PNG = "iVBORw0KGgoAAAANSUhEUg=="
SIGNED = ["content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def raw_chat(bedrock: Bedrock, model: str, **extra: Any) -> httpx.Response:
    with bedrock.stack.client() as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": HELLO, **extra}
        )


def test_a_whole_completion_signed_and_billed_with_cache_tokens(bedrock: Bedrock) -> None:
    raw = sdk(bedrock.stack).chat.completions.with_raw_response.create(
        model="bedrock/claude",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],  # type: ignore[list-item]
        max_tokens=200,
        temperature=0.5,
        stop=["END"],
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1500, 300)
    assert (usage.completion_tokens, usage.total_tokens) == (50, 1550)
    seen = bedrock.fake.seen[-1]
    assert seen.path == "/model/anthropic.usage-1000-300-200-50-v1%3A0/converse"
    assert seen.signed is not None and seen.signed.access_key == ENV_KEYS.access_key
    assert seen.signed.signed_headers == SIGNED
    assert seen.body == {
        "messages": [{"role": "user", "content": [{"text": "hello there"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.5, "stopSequences": ["END"]},
    }
    row = bedrock.stack.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["cache_write_tokens"]) == (
        1500,
        300,
        200,
    )
    assert row["completion_tokens"] == 50 and row["upstream"].startswith("bedrock")
    assert row["cost_pusd"] == CLAUDE_COST and row["estimated"] == 0


def test_a_stream_through_the_openai_sdk(bedrock: Bedrock) -> None:
    stream = sdk(bedrock.stack).chat.completions.with_raw_response.create(
        model="bedrock/claude",
        messages=HELLO,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream.parse())
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1500, 300)
    assert bedrock.fake.seen[-1].path.endswith("/converse-stream")
    row = bedrock.stack.row(stream.headers["x-request-id"])
    assert row["cost_pusd"] == CLAUDE_COST and row["estimated"] == 0 and row["error_code"] is None


def test_a_stream_without_usage_asked_is_billed_all_the_same(bedrock: Bedrock) -> None:
    response = raw_chat(bedrock, "bedrock/claude", stream=True)
    assert response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
    assert '"usage"' not in response.text
    assert bedrock.stack.row(response.headers["x-request-id"])["cost_pusd"] == CLAUDE_COST


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_and_their_results(bedrock: Bedrock, stream: bool) -> None:
    client = sdk(bedrock.stack)
    first = client.chat.completions.create(
        model="bedrock/echo",
        messages=HELLO,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "weather"}},
    )
    call = (first.choices[0].message.tool_calls or [])[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, call.function.arguments) == (
        "tooluse_1",
        "weather",
        '{"ok":true}',
    )  # type: ignore[union-attr]
    assert bedrock.fake.seen[-1].body["toolConfig"]["toolChoice"] == {"tool": {"name": "weather"}}
    history = [
        *HELLO,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "tooluse_1", "content": "sunny"},
    ]
    second: Any = client.chat.completions.create(
        model="bedrock/echo",
        messages=history,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        stream=stream,
    )
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in second if c.choices)
    else:
        text = second.choices[0].message.content
    assert text == "tool said: sunny"
    turns = bedrock.fake.seen[-1].body["messages"]
    assert turns[1]["content"] == [
        {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"ok": True}}}
    ]
    assert turns[2]["content"] == [
        {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}}
    ]


def test_a_streamed_tool_call(bedrock: Bedrock) -> None:
    stream = sdk(bedrock.stack).chat.completions.create(
        model="bedrock/echo",
        messages=HELLO,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        stream=True,
    )
    calls = [call for c in stream if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert (calls[0].id, calls[0].function.name) == ("tooluse_1", "weather")  # type: ignore[union-attr]
    assert "".join(c.function.arguments or "" for c in calls) == '{"ok": true}'  # type: ignore[union-attr]


def test_an_image_goes_as_bytes_and_an_image_url_is_a_clear_400(bedrock: Bedrock) -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    content = [{"type": "text", "text": "what is this"}, image]
    completion = sdk(bedrock.stack).chat.completions.create(
        model="bedrock/echo",
        messages=[{"role": "user", "content": content}],  # type: ignore[list-item]
    )
    assert completion.choices[0].message.content == "echo: what is this"
    assert bedrock.fake.seen[-1].body["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": PNG}}
    }
    calls = len(bedrock.fake.seen)
    linked = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(bedrock.stack).chat.completions.create(
            model="bedrock/echo",
            messages=[{"role": "user", "content": [linked]}],  # type: ignore[list-item]
        )
    assert caught.value.status_code == 400 and "data URLs only" in caught.value.message
    assert caught.value.param == "messages[0].content[0]"
    assert len(bedrock.fake.seen) == calls  # never sent


def test_the_messages_api_through_the_anthropic_sdk(bedrock: Bedrock) -> None:
    client = anthropic_clients.sdk(bedrock.stack)
    message = client.messages.create(
        model="bedrock/think",
        max_tokens=20000,
        thinking={"type": "enabled", "budget_tokens": 10000},
        system="Be brief.",
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == REASONING  # type: ignore[union-attr]
    assert message.content[1].text == "echo: hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    body = bedrock.fake.seen[-1].body
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 8192}
    }
    assert body["inferenceConfig"]["maxTokens"] == 20000 and body["system"] == [
        {"text": "Be brief."}
    ]
    with client.messages.stream(
        model="bedrock/claude",
        max_tokens=100,
        messages=[{"role": "user", "content": "hello there"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "echo: hello there"  # type: ignore[union-attr]
    usage = final.usage  # Anthropic's, where input tokens leave out the cache's, as Bedrock's
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (1000, 300)
    assert (usage.cache_creation_input_tokens, usage.output_tokens) == (200, 50)


def test_an_exception_mid_stream_ends_the_stream_with_an_error(bedrock: Bedrock) -> None:
    response = raw_chat(bedrock, "bedrock/throttled", stream=True)
    assert response.status_code == 200
    events = [data for _, data in sse_events(response.text)]
    assert events[1]["choices"][0]["delta"] == {"content": "echo:"}
    error = events[-1]["error"]
    assert error["code"] == "upstream_interrupted"
    assert "throttlingException" in error["message"] and "Too many tokens" in error["message"]
    row = bedrock.stack.row(response.headers["x-request-id"])
    assert row["error_code"] == "upstream_interrupted" and row["estimated"] == 1
    with pytest.raises(openai.APIError, match="throttlingException"):
        list(
            sdk(bedrock.stack).chat.completions.create(
                model="bedrock/throttled",
                messages=HELLO,  # type: ignore[arg-type]
                stream=True,
            )
        )


def test_a_corrupt_frame_ends_the_stream_as_an_invalid_answer(bedrock: Bedrock) -> None:
    response = raw_chat(bedrock, "bedrock/corrupt", stream=True)
    error = sse_events(response.text)[-1][1]["error"]
    assert "invalid response" in error["message"] and "corrupt" in error["message"]


def test_a_validation_exception_is_the_clients_400(bedrock: Bedrock) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(bedrock.stack).chat.completions.create(model="bedrock/rejects", messages=HELLO)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert "The model returned the following errors: bad input" in caught.value.message


def test_an_unreadable_answer_is_a_502(bedrock: Bedrock) -> None:
    response = raw_chat(bedrock, "bedrock/garbage")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"


def test_a_failed_upstream_falls_back_to_the_next(bedrock: Bedrock) -> None:
    response = raw_chat(bedrock, "bedrock/fallback")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"


def test_a_bedrock_api_key_is_a_bearer_token(bedrock: Bedrock) -> None:
    assert raw_chat(bedrock, "bedrock/api-key").status_code == 200
    seen = bedrock.fake.seen[-1]
    assert seen.headers["authorization"] == f"Bearer {bedrock.fake.api_key}"
    assert seen.signed is None and not [h for h in seen.headers if h.startswith("x-amz-")]


def test_no_secret_reaches_the_log(bedrock: Bedrock) -> None:
    raw_chat(bedrock, "bedrock/claude")
    raw_chat(bedrock, "bedrock/rejects")
    log = bedrock.stack.gateway.log()
    secrets = [ENV_KEYS.secret_key, str(ENV_KEYS.token), bedrock.fake.api_key]
    assert not [s for s in secrets if s in log]


def test_credentials_from_a_profile(tmp_path: Path, fake: FakeBedrock) -> None:
    (tmp_path / "aws-credentials").write_text(
        f"[gateway]\naws_access_key_id = {PROFILE_KEYS.access_key}\n"
        f"aws_secret_access_key = {PROFILE_KEYS.secret_key}\n"
    )
    stack = start_bedrock_gateway(tmp_path, fake, AWS_PROFILE="gateway")
    try:
        with stack.client() as client:
            response = client.post(
                "/v1/chat/completions", json={"model": "bedrock/echo", "messages": HELLO}
            )
        assert response.status_code == 200, response.text
        signed = fake.seen[-1].signed
        assert signed is not None and signed.access_key == PROFILE_KEYS.access_key
        assert "x-amz-security-token" not in signed.signed_headers  # permanent keys: none
    finally:
        stack.gateway.stop()


def test_a_wrong_secret_is_a_502_naming_the_credentials(tmp_path: Path, fake: FakeBedrock) -> None:
    wrong = "wrong-secret-Xq9bT0p4ZrWvK2mN8sLdF3hJ"
    stack = start_bedrock_gateway(
        tmp_path, fake, AWS_ACCESS_KEY_ID=PROFILE_KEYS.access_key, AWS_SECRET_ACCESS_KEY=wrong
    )
    try:
        with stack.client() as client:
            response = client.post(
                "/v1/chat/completions", json={"model": "bedrock/echo", "messages": HELLO}
            )
        assert response.status_code == 502
        message = response.json()["error"]["message"]
        assert "(bedrock) refused the gateway's credentials (403)" in message
        assert wrong not in message and SIGNATURE_MISMATCH not in message
        assert wrong not in stack.gateway.log()
    finally:
        stack.gateway.stop()


def test_no_credentials_at_all_is_a_502_that_says_so(tmp_path: Path, fake: FakeBedrock) -> None:
    stack = start_bedrock_gateway(tmp_path, fake)
    try:
        calls = len(fake.seen)
        with stack.client() as client:
            response = client.post(
                "/v1/chat/completions", json={"model": "bedrock/echo", "messages": HELLO}
            )
        assert response.status_code == 502
        assert "no AWS credentials were found" in response.json()["error"]["message"]
        assert len(fake.seen) == calls
    finally:
        stack.gateway.stop()
