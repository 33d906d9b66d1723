"""Every error on the Messages API in Anthropic's shape, raising the SDK's own exceptions."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.utils.anthropic_clients import post_stream, sdk, sse_events
from tests.utils.keys import create_key
from tests.utils.stacks import Stack

HI = [{"role": "user", "content": "hi"}]


def post(stack: Stack, body: Any, key: str | None = None, **headers: str) -> httpx.Response:
    sent = {"x-api-key": key if key is not None else stack.user_key, **headers}
    return httpx.post(f"{stack.gateway.url}/v1/messages?beta=true", json=body, headers=sent)


def assert_anthropic_error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert set(body) == {"type", "error"} and set(body["error"]) == {"type", "message"}
    assert response.headers["request-id"] == response.headers["x-request-id"]
    retry = status in (408, 409, 429) or status >= 500  # else Claude Code retries for minutes
    assert response.headers["x-should-retry"] == ("true" if retry else "false")
    return str(body["error"]["message"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"max_tokens": 10, "messages": HI}, "model"),
        ({"model": "fake/gpt", "messages": HI}, "max_tokens"),
        ({"model": "fake/gpt", "max_tokens": 0, "messages": HI}, "max_tokens"),
        ({"model": "fake/claude", "max_tokens": 1e308, "messages": HI}, "max_tokens"),
        ({"model": "fake/gpt", "max_tokens": 10**30, "messages": HI}, "max_tokens"),
        ({"model": "fake/gpt", "max_tokens": 10, "messages": []}, "messages"),
        (
            {"model": "fake/gpt", "max_tokens": 10, "messages": [{"role": "bot", "content": "x"}]},
            "role",
        ),
        (
            {"model": "fake/gpt", "max_tokens": 10, "messages": [{"role": "user", "content": 5}]},
            "content",
        ),
        ({"model": "fake/gpt", "max_tokens": 10, "messages": HI, "system": 5}, "system"),
        ({"model": "fake/gpt", "max_tokens": 10, "messages": HI, "stream": "yes"}, "stream"),
        ({"model": "fake/gpt", "max_tokens": 10, "messages": HI, "tools": [{"x": 1}]}, "tools"),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_requests(stack: Stack, body: Any, named: str) -> None:
    assert named in assert_anthropic_error(post(stack, body), 400, "invalid_request_error")


def test_not_json(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.gateway.url}/v1/messages",
        content=b"{not json",
        headers={"x-api-key": stack.user_key},
    )
    assert_anthropic_error(response, 400, "invalid_request_error")


def test_the_sdk_raises_the_matching_exception(stack: Stack) -> None:
    def create(client: anthropic.Anthropic, model: str) -> None:
        client.messages.create(model=model, max_tokens=10, messages=HI)  # type: ignore[arg-type]

    narrow = create_key(stack.gateway.env, "--name", "narrow-messages", "--models", "fake/gpt")
    cases: list[tuple[anthropic.Anthropic, str, type[anthropic.APIStatusError]]] = [
        (sdk(stack, "sk-quantized-wrong"), "fake/gpt", anthropic.AuthenticationError),
        (sdk(stack, narrow), "fake/claude", anthropic.PermissionDeniedError),
        (sdk(stack), "fake/nothing-here", anthropic.NotFoundError),
        (sdk(stack), "fake/limited", anthropic.RateLimitError),
        (sdk(stack), "fake/rejects", anthropic.BadRequestError),
        (sdk(stack), "fake/down", anthropic.InternalServerError),
    ]
    for client, model, expected in cases:
        with pytest.raises(expected) as raised:
            create(client, model)
        assert raised.value.request_id is not None and raised.value.request_id.startswith("req_")
        assert isinstance(raised.value.body, dict) and raised.value.body["type"] == "error"


def test_no_credential(stack: Stack) -> None:
    response = httpx.post(f"{stack.gateway.url}/v1/messages", json={})
    assert "Missing API key" in assert_anthropic_error(response, 401, "authentication_error")


def test_capability_checks_in_anthropics_words(stack: Stack) -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
    body = {
        "model": "fake/text-only",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [image]}],
    }
    assert "image" in assert_anthropic_error(post(stack, body), 400, "invalid_request_error")
    body = {"model": "fake/text-only", "max_tokens": 10, "messages": HI, "tools": [{"name": "t"}]}
    assert "tools" in assert_anthropic_error(post(stack, body), 400, "invalid_request_error")


def test_a_body_over_the_limit(stack: Stack) -> None:
    body = {
        "model": "fake/gpt",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x" * 300_000}],
    }
    assert_anthropic_error(post(stack, body), 413, "request_too_large")


def test_another_method(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway.url}/v1/messages", headers={"x-api-key": stack.user_key})
    assert_anthropic_error(response, 405, "invalid_request_error")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("model", ["fake/claude-break", "fake/break"])
def test_a_broken_stream_ends_with_an_error_event(stack: Stack, model: str) -> None:
    response = post_stream(stack, {"model": model, "max_tokens": 10, "messages": HI})
    events = sse_events(response.text)
    name, data = events[-1]
    assert name == "error" and data["error"]["type"] == "api_error"
    assert "broke" in data["error"]["message"]
    with pytest.raises(anthropic.APIStatusError):
        with sdk(stack).messages.stream(model=model, max_tokens=10, messages=HI) as stream:  # type: ignore[arg-type]
            stream.get_final_message()
    row = stack.row(response.headers["request-id"])
    assert row["error_code"] == "upstream_interrupted"


def test_refusals_are_ledger_rows(stack: Stack) -> None:
    response = post(stack, {"model": "fake/limited", "max_tokens": 10, "messages": HI})
    assert_anthropic_error(response, 429, "rate_limit_error")
    # the upstream's Retry-After (7 s), or what is left of it: the upstream cools down that
    # long, and requests meanwhile are told so without being sent
    assert 1 <= int(response.headers["retry-after"]) <= 7
    row = stack.row(response.headers["request-id"])
    assert (row["model"], row["status"]) == ("fake/limited", 429)


def test_an_upstream_error_event_is_relayed_and_noted(stack: Stack) -> None:
    response = post_stream(
        stack, {"model": "fake/claude-overloaded", "max_tokens": 10, "messages": HI}
    )
    (_, start), (_, _ping), (name, error) = sse_events(response.text)
    assert start["message"]["usage"]["input_tokens"] == 10
    assert (name, error["error"]["type"]) == ("error", "overloaded_error")
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        with sdk(stack).messages.stream(
            model="fake/claude-overloaded",
            max_tokens=10,
            messages=HI,  # type: ignore[arg-type]
        ) as stream:
            stream.get_final_message()
    row = stack.row(response.headers["request-id"])
    assert (row["status"], row["error_code"], row["prompt_tokens"]) == (200, "upstream_error", 10)
