from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.catalog.model import Upstream
from quantized.errors import BadGatewayError
from quantized.gateway.providers.openai import OpenAIProvider
from quantized.gateway.streams import DONE, Usage
from quantized.gateway.surfaces.chat import ChatRequest, parse_chat_request

PROVIDER = OpenAIProvider()
UPSTREAM = Upstream(provider="openai", base_url="https://api.example.com/v1", model="gpt-up")


def chat(**fields: Any) -> ChatRequest:
    body = {"model": "alias", "messages": [{"role": "user", "content": "hi"}], **fields}
    return parse_chat_request(orjson.dumps(body))


def sent(request: ChatRequest, upstream: Upstream = UPSTREAM) -> dict[str, Any]:
    return orjson.loads(PROVIDER.call(request, upstream, "sk-1").body)  # type: ignore[no-any-return]


def test_call_replaces_the_model_and_passes_everything_else_through() -> None:
    request = chat(temperature=0.2, seed=3, tools=[{"type": "function"}], vendor={"x": 1})
    body = sent(request)
    assert body == {**request.body, "model": "gpt-up"}
    assert "stream_options" not in body
    assert request.body["model"] == "alias"  # the request itself is left alone


def test_call_asks_streams_for_usage_and_keeps_other_stream_options() -> None:
    assert sent(chat(stream=True))["stream_options"] == {"include_usage": True}
    options = {"include_usage": False, "continuous_usage_stats": True}
    request = chat(stream=True, stream_options=options)
    body = sent(request)
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert request.body["stream_options"] == options


def test_call_headers_and_url() -> None:
    call = PROVIDER.call(chat(), UPSTREAM, "sk-1")
    assert call.url == "https://api.example.com/v1/chat/completions"
    headers = dict(call.headers)
    assert headers[b"authorization"] == b"Bearer sk-1"
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"accept-encoding"] == b"identity"


def test_call_without_a_key_sends_no_authorization() -> None:
    call = PROVIDER.call(chat(), UPSTREAM, None)
    assert b"authorization" not in dict(call.headers)


@pytest.mark.parametrize("base", ["http://h:8000/v1", "http://h:8000/v1/"])
def test_call_url_handles_a_trailing_slash(base: str) -> None:
    upstream = Upstream(provider="openai", base_url=base, model="x")
    assert PROVIDER.call(chat(), upstream, None).url == "http://h:8000/v1/chat/completions"


def test_completion_returns_the_body_unchanged_with_its_usage() -> None:
    body = orjson.dumps(
        {
            "id": "c1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "yo"}}],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 7,
                "total_tokens": 127,
                "prompt_tokens_details": {"cached_tokens": 100},
            },
        }
    )
    out, usage = PROVIDER.completion(chat(), body)
    assert out == body
    assert usage == Usage(prompt_tokens=120, cached_tokens=100, completion_tokens=7)


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "c1", "choices": []}',
        b'{"usage": null}',
        b'{"usage": {"prompt_tokens": "many", "completion_tokens": true}}',
    ],
)
def test_completion_without_usage_is_zero_usage(body: bytes) -> None:
    assert PROVIDER.completion(chat(), body) == (body, Usage())


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "c1", "choi', b""])
def test_an_unreadable_completion_is_a_502(body: bytes) -> None:
    with pytest.raises(BadGatewayError) as caught:
        PROVIDER.completion(chat(), body)
    assert caught.value.code == "upstream_invalid_response"


def test_completion_with_cache_writes_as_openrouter_reports_them() -> None:
    details = {"cached_tokens": 30, "cache_write_tokens": 100, "audio_tokens": 0}
    usage = {"prompt_tokens": 194, "completion_tokens": 2, "prompt_tokens_details": details}
    body = orjson.dumps({"usage": usage})
    assert PROVIDER.completion(chat(), body)[1] == Usage(
        prompt_tokens=194, cached_tokens=30, completion_tokens=2, cache_write_tokens=100
    )
    details["cache_write_tokens"] = -5
    assert PROVIDER.completion(chat(), orjson.dumps({"usage": usage}))[1].cache_write_tokens == 0


def test_completion_without_cache_details() -> None:
    body = b'{"usage": {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": null}}'
    assert PROVIDER.completion(chat(), body)[1] == Usage(5, 0, 2)


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return orjson.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [choice]})


ROLE = chunk({"role": "assistant", "content": ""})
HELLO = chunk({"content": "Hel"})
LO = chunk({"content": "lo"})
TOOL = chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})
STOP = chunk({}, "stop")
USAGE = orjson.dumps(
    {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }
)
PAYLOADS = [ROLE, HELLO, LO, TOOL, STOP, USAGE]


def upstream_stream(separator: bytes = b"\n\n") -> bytes:
    events = [b"data: " + p for p in PAYLOADS] + [b": keep-alive", b"data: [DONE]"]
    return b"".join(e + separator for e in events)


def run(stream: bytes, include_usage: bool, step: int = 1) -> tuple[list[bytes], Any]:
    translator = PROVIDER.translator(
        chat(stream=True, stream_options={"include_usage": include_usage})
    )
    out: list[bytes] = []
    for start in range(0, len(stream), step):
        out += translator.feed(stream[start : start + step])
    return out + translator.finish(), translator


@pytest.mark.parametrize("separator", [b"\n\n", b"\r\n\r\n"])
@pytest.mark.parametrize("step", [1, 7, 10_000])
def test_stream_forwards_events_whatever_the_chunking(separator: bytes, step: int) -> None:
    out, translator = run(upstream_stream(separator), include_usage=True, step=step)
    assert out == [b"data: " + p + b"\n\n" for p in PAYLOADS] + [DONE]
    assert translator.usage == Usage(prompt_tokens=9, cached_tokens=2, completion_tokens=4)
    assert translator.chunks == 4  # role (empty content), two texts, one tool argument


def test_stream_drops_the_usage_chunk_the_client_did_not_ask_for() -> None:
    out, translator = run(upstream_stream(), include_usage=False)
    assert out == [b"data: " + p + b"\n\n" for p in PAYLOADS[:-1]] + [DONE]
    assert translator.usage == Usage(prompt_tokens=9, cached_tokens=2, completion_tokens=4)


def test_stream_ends_with_exactly_one_done() -> None:
    out, _ = run(upstream_stream(), include_usage=True)
    assert out.count(DONE) == 1
    assert out[-1] == DONE


def test_null_usage_on_content_chunks_is_passed_on_to_clients_who_asked() -> None:
    payload = orjson.dumps({"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": None})
    translator = PROVIDER.translator(chat(stream=True, stream_options={"include_usage": True}))
    assert translator.feed(b"data: " + payload + b"\n\n") == [b"data: " + payload + b"\n\n"]
    spaced = b'{"choices": [{"index": 0, "delta": {"content": "b"}}], "usage": null}'
    assert translator.feed(b"data: " + spaced + b"\n\n") == [b"data: " + spaced + b"\n\n"]
    assert translator.usage is None
    assert translator.chunks == 2
    assert translator.finish() == [DONE]


@pytest.mark.parametrize("usage", [None, {"prompt_tokens": 9, "completion_tokens": 1}])
def test_clients_who_did_not_ask_get_no_usage_field_even_on_content_chunks(usage: Any) -> None:
    """Some servers put usage (or ``usage: null``) on chunks that also carry choices: the
    chunk is kept, the field removed, the usage still billed."""
    content = {"id": "c", "choices": [{"index": 0, "delta": {"content": "a"}}]}
    translator = PROVIDER.translator(chat(stream=True))
    out = translator.feed(b"data: " + orjson.dumps({**content, "usage": usage}) + b"\n\n")
    assert out == [b"data: " + orjson.dumps(content) + b"\n\n"]
    assert translator.usage == (Usage(9, 0, 1) if usage else None)
    assert translator.chunks == 1


def test_an_error_event_is_passed_on() -> None:
    payload = b'{"error": {"message": "overloaded", "type": "server_error"}}'
    translator = PROVIDER.translator(chat(stream=True))
    assert translator.feed(b"data: " + payload + b"\n\n") == [b"data: " + payload + b"\n\n"]
