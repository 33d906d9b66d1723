"""Everything refused before an upstream is called: 4xx in OpenAI's shape, the param named;
and a model asked for on an API it does not serve."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.utils.stacks import Stack


def post(stack: Stack, path: str, body: Any, **headers: str) -> Any:
    with stack.client() as client:
        return client.post(path, json=body, headers=headers)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert response.headers["x-request-id"].startswith("req_")
    return error  # type: ignore[no-any-return]


EMBED = {"model": "fake/embed", "input": "hello"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "fake/embed"}, "input"),
        ({**EMBED, "input": ""}, "input"),
        ({**EMBED, "input": []}, "input"),
        ({**EMBED, "input": {"text": "hello"}}, "input"),
        ({**EMBED, "input": 42}, "input"),
        ({**EMBED, "input": ["a", 1]}, "input[1]"),
        ({**EMBED, "input": [[1, 2], "b"]}, "input[1]"),
        ({**EMBED, "input": ["a", ""]}, "input[1]"),
        ({**EMBED, "input": [[1], []]}, "input[1]"),
        ({**EMBED, "input": [1, -5]}, "input[1]"),
        ({**EMBED, "encoding_format": "int8"}, "encoding_format"),
        ({**EMBED, "dimensions": 0}, "dimensions"),
        ({**EMBED, "dimensions": "x"}, "dimensions"),
        ({**EMBED, "dimensions": 2**70}, "dimensions"),
        ({**EMBED, "user": ["u"]}, "user"),
        ({"input": "hello"}, "model"),
    ],
)
def test_bad_requests_are_400(stack: Stack, body: dict[str, Any], param: str) -> None:
    before = len(stack.upstream.seen)
    error = error_of(post(stack, "/v1/embeddings", body), 400)
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert len(stack.upstream.seen) == before  # no upstream call


def test_an_unknown_model_is_404(stack: Stack) -> None:
    error = error_of(post(stack, "/v1/embeddings", {**EMBED, "model": "fake/nope"}), 404)
    assert error["param"] == "model"


def test_a_chat_model_is_not_served_on_embeddings(stack: Stack) -> None:
    before = len(stack.upstream.seen)
    error = error_of(post(stack, "/v1/embeddings", {**EMBED, "model": "fake/gpt"}), 400)
    assert (error["param"], error["code"]) == ("model", "unsupported_endpoint")
    assert "/v1/chat/completions" in error["message"]
    assert len(stack.upstream.seen) == before


def test_an_embedding_model_is_not_served_on_chat_or_messages(stack: Stack) -> None:
    before = len(stack.upstream.seen)
    chat = {"model": "fake/embed", "messages": [{"role": "user", "content": "hi"}]}
    error = error_of(post(stack, "/v1/chat/completions", chat), 400)
    assert (error["param"], error["code"]) == ("model", "unsupported_endpoint")
    assert "/v1/embeddings" in error["message"]
    messages = post(stack, "/v1/messages", {**chat, "max_tokens": 10})
    assert messages.status_code == 400
    assert messages.json()["error"]["type"] == "invalid_request_error"
    assert "/v1/embeddings" in messages.json()["error"]["message"]
    assert len(stack.upstream.seen) == before
    row = stack.row(messages.headers["x-request-id"])
    assert (row["status"], row["model"], row["cost_pusd"]) == (400, "fake/embed", 0)


def test_the_sdk_raises_its_own_exceptions(stack: Stack) -> None:
    client = OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="not served by /v1/embeddings"):
        client.embeddings.create(model="fake/gpt", input="hello")
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="fake/nope", input="hello")
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="fake/embed", input=[])
    assert caught.value.param == "input"  # type: ignore[attr-defined]


def test_wrong_method_is_405(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/v1/embeddings")
    error_of(response, 405)
    assert response.headers["allow"] == "POST"
