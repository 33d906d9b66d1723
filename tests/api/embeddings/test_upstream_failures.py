"""Upstream failures on embeddings map as they do for chat: fallback on a 5xx, a 429 passed
on (SDK: RateLimitError), another 4xx with its param and code, an unreadable answer a 502."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from tests.utils.stacks import Stack
from tests.utils.upstream_embeddings import vector


def test_the_next_upstream_after_a_500(stack: Stack, client: OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="fake/embed-fallback", input="again", encoding_format="float"
    )
    assert raw.parse().data[0].embedding == vector("again")
    assert [s.body["model"] for s in stack.upstream.seen[-2:]] == ["fail-500", "embed"]
    row = stack.row(raw.headers["x-request-id"])
    assert (row["status"], row["prompt_tokens"]) == (200, 1)
    assert row["upstream"].endswith(" embed")
    assert "fail-500 failed (500)" in stack.gateway.log()


def test_an_upstream_429_is_passed_on(stack: Stack, client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.embeddings.create(model="fake/embed-limited", input="x")
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "upstream_rate_limited"
    assert "slow down" in error["message"]
    row = stack.row(caught.value.response.headers["x-request-id"])
    assert (row["status"], row["cost_pusd"]) == (429, 0)


def test_an_upstream_400_keeps_its_param_and_code(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/embeddings", json={"model": "fake/embed-rejects", "input": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("x", "bad_x")
    assert "bad parameter x" in error["message"]


def test_an_answer_that_is_not_json_is_a_502(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/embeddings", json={"model": "fake/embed-garbage", "input": "x"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_invalid_response"
    assert "<html>" not in response.text
    row = stack.row(response.headers["x-request-id"])
    assert (row["status"], row["error_code"]) == (502, "upstream_invalid_response")
