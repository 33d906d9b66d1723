"""Responses to an upstream that serves the Responses API: passed through, but the model."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.utils.openai_clients import RESPONSE, checked_events, post_stream, sdk
from tests.utils.stacks import PROVIDER_KEY, Stack
from tests.utils.upstream_responses import ENCRYPTED

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    "strict": False,
}


def test_the_body_reaches_the_upstream_as_sent_but_the_model(stack: Stack) -> None:
    extra = {"a_field_from_the_future": [1, {"x": None}], "client_metadata": {"a": "b"}}
    tools = [WEATHER, {"type": "web_search"}, {"type": "some_future_tool", "x": 1}]
    raw = sdk(stack).responses.with_raw_response.create(
        model="fake/gpt-native",
        input=[{"type": "message", "role": "developer", "content": "be brief", "id": "m0"}],
        tools=tools,  # type: ignore[arg-type]
        store=False,
        include=["reasoning.encrypted_content"],
        reasoning={"effort": "high", "summary": "auto"},
        prompt_cache_key="k1",
        extra_body=extra,
    )
    response = raw.parse()
    seen = stack.upstream.seen[-1]
    assert seen.path == "/v1/responses"
    assert {k.lower(): v for k, v in seen.headers.items()}[
        "authorization"
    ] == f"Bearer {PROVIDER_KEY}"
    assert seen.body["model"] == "usage-100-40-20"
    assert seen.body["tools"] == tools
    assert seen.body["a_field_from_the_future"] == [1, {"x": None}]
    assert seen.body["include"] == ["reasoning.encrypted_content"]
    assert seen.body["prompt_cache_key"] == "k1"
    assert seen.body["input"][0]["id"] == "m0"
    assert response.output[0].type == "function_call"
    assert "x-quantized-warning" not in raw.headers


def test_a_whole_answer_is_billed_from_its_usage(stack: Stack) -> None:
    raw = sdk(stack).responses.with_raw_response.create(model="fake/gpt-native", input="hello")
    response = raw.parse()
    RESPONSE.validate_python(raw.http_response.json())
    assert response.output_text == "echo: hello"
    assert response.usage is not None and response.usage.input_tokens == 100
    row = stack.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (100, 40, 20)
    # 60 x 2.5 + 40 x 1.25 + 20 x 10 per million
    assert Decimal(row["cost_pusd"]) == Decimal("400") * 10**6
    assert row["model"] == "fake/gpt-native" and row["estimated"] in (0, False)


def test_a_stream_is_relayed_event_by_event_and_billed(stack: Stack) -> None:
    answer = post_stream(stack, {"model": "fake/gpt-native", "input": "hello there"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = checked_events(answer.text)
    assert [e["type"] for e in events[:3]] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ]
    assert events[-1]["type"] == "response.completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "echo: hello there"
    row = stack.row(answer.headers["x-request-id"])
    assert (row["prompt_tokens"], row["completion_tokens"], row["stream"]) == (100, 20, 1)


def test_the_sdk_stream_helper_gets_the_final_response(stack: Stack) -> None:
    with sdk(stack).responses.stream(model="fake/native-think", input="why") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: why"
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == ENCRYPTED
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 3


def test_a_stream_that_breaks_ends_with_an_error_event(stack: Stack) -> None:
    answer = post_stream(stack, {"model": "fake/native-break", "input": "hello"})
    events = checked_events(answer.text)
    assert events[-1]["type"] == "error"
    assert events[-1]["code"] in ("upstream_interrupted", "upstream_invalid_response")
    assert not any(e["type"] == "response.completed" for e in events)
    row = stack.row(answer.headers["x-request-id"])
    assert row["status"] == 200 and row["error_code"] is not None


def test_a_failing_native_upstream_falls_back_to_a_translated_one(stack: Stack) -> None:
    raw = sdk(stack).responses.with_raw_response.create(model="fake/native-fallback", input="hi")
    assert raw.parse().output_text.startswith("echo: hi")
    assert stack.upstream.seen[-1].path == "/v1/chat/completions"
    assert stack.upstream.seen[-2].path == "/v1/responses"


def test_bad_requests_are_400s_in_openai_shape(stack: Stack) -> None:
    native = {"model": "fake/gpt-native", "input": "x"}
    cases = [
        ({"model": "fake/gpt-native"}, "input"),
        ({**native, "input": 5}, "input"),
        ({**native, "input": [5]}, "input[0]"),
        ({**native, "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({**native, "stream": "yes"}, "stream"),
        ({**native, "store": 1}, "store"),
        ({**native, "tools": {}}, "tools"),
        ({**native, "max_output_tokens": 0}, "max_output_tokens"),
        ({**native, "previous_response_id": 7}, "previous_response_id"),
        ({"input": "x"}, "model"),
    ]
    with httpx.Client(base_url=stack.gateway.url, timeout=10) as client:
        for body, param in cases:
            answer = client.post(
                "/v1/responses", json=body, headers={"Authorization": f"Bearer {stack.user_key}"}
            )
            assert answer.status_code == 400, body
            error = answer.json()["error"]
            assert error["param"] == param, body
            assert error["type"] == "invalid_request_error"
