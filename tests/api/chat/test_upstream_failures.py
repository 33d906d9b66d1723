"""Upstream failures: fallback to the next upstream, or a clean 502/504/4xx/503."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.utils.stacks import PROVIDER_KEY, Stack

USER = {"role": "user", "content": "hi"}


def call(stack: Stack, model: str, **extra: Any) -> Any:
    with stack.client() as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": [USER], **extra}
        )


@pytest.mark.parametrize("stream", [False, True])
def test_next_upstream_after_a_failure(stack: Stack, stream: bool) -> None:
    response = call(stack, "fake/fallback", stream=stream)
    assert response.status_code == 200, response.text
    assert "echo:" in response.text
    row = stack.row(response.headers["x-request-id"])
    assert row["status"] == 200 and row["upstream"].endswith(" echo")
    assert "fail-500 failed (500)" in stack.gateway.log()  # the fallback is logged, with why


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_the_upstream_received_is_never_sent_again(stack: Stack, stream: bool) -> None:
    """The first upstream read the whole request, then hung up: it may be served (and billed)
    there, so the next upstream must not get it too."""
    before = len(stack.upstream.seen)
    response = call(stack, "fake/fallback-drop", stream=stream)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["type"] == "upstream_error"
    assert "unreachable" in response.json()["error"]["message"]
    assert [s.body["model"] for s in stack.upstream.seen[before:]] == ["drop"]
    row = stack.row(response.headers["x-request-id"])
    assert (row["status"], row["model"], row["cost_pusd"]) == (502, "fake/fallback-drop", 0)


@pytest.mark.parametrize(
    ("model", "status", "fragment"),
    [
        ("fake/down", 502, "unreachable"),
        ("fake/slow", 504, "did not answer in time"),
        ("fake/limited", 429, "slow down"),
        ("fake/rejects", 400, "bad parameter x"),
        ("fake/no-key", 503, "MISSING_PROVIDER_KEY"),
    ],
)
def test_failures_map_cleanly(stack: Stack, model: str, status: int, fragment: str) -> None:
    response = call(stack, model)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert fragment in error["message"]
    assert "Traceback" not in response.text
    row = stack.row(response.headers["x-request-id"])
    assert (row["status"], row["cost_pusd"]) == (status, 0)


def test_upstream_4xx_keeps_its_param_and_code(stack: Stack) -> None:
    error = call(stack, "fake/rejects").json()["error"]
    assert (error["param"], error["code"]) == ("x", "bad_x")


def test_refused_provider_credentials_never_leak(stack: Stack) -> None:
    response = call(stack, "fake/bad-credentials")
    assert response.status_code == 502
    assert PROVIDER_KEY not in response.text
    assert "FAKE_KEY" in response.json()["error"]["message"]
    assert PROVIDER_KEY not in stack.gateway.log()


def test_sdk_sees_the_right_exceptions(stack: Stack) -> None:
    client = OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="fake/down", messages=[USER])  # type: ignore[list-item]
    assert caught.value.status_code == 502
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fake/limited", messages=[USER])  # type: ignore[list-item]


def test_a_stream_that_breaks_midway_ends_with_an_error_event(stack: Stack) -> None:
    response = call(stack, "fake/break", stream=True)
    assert response.status_code == 200
    assert "w0" in response.text
    assert '"code":"upstream_interrupted"' in response.text
    row = stack.row(response.headers["x-request-id"])
    assert row["error_code"] == "upstream_interrupted" and row["estimated"] == 1
