"""Everything refused before an upstream is called: 4xx in the OpenAI shape, param named."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.utils.keys import create_key, key_works
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack


def post(stack: Stack, body: Any, key: str | None = None, **headers: str) -> Any:
    with stack.client(key) as client:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post(
            "/v1/chat/completions",
            content=content,
            headers={"content-type": "application/json", **headers},
        )


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert response.headers["x-request-id"].startswith("req_")
    return error  # type: ignore[no-any-return]


USER = {"role": "user", "content": "hi"}
IMAGE = {
    "role": "user",
    "content": [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ],
}
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            {"model": "fake/text-only", "messages": [IMAGE]},
            "messages[0].content[1]",
            "unsupported_modality",
        ),
        (
            {"model": "fake/text-only", "messages": [USER], "tools": TOOLS},
            "tools",
            "unsupported_feature",
        ),
        (
            {
                "model": "fake/text-only",
                "messages": [USER],
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {}},
                },
            },
            "response_format",
            "unsupported_feature",
        ),
        ({"messages": [USER]}, "model", None),
        ({"model": "fake/gpt"}, "messages", None),
        ({"model": "fake/gpt", "messages": []}, "messages", None),
        ({"model": "fake/gpt", "messages": "hi"}, "messages", None),
        (
            {"model": "fake/gpt", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
            None,
        ),
        (
            {"model": "fake/gpt", "messages": [{"role": "user", "content": 42}]},
            "messages[0].content",
            None,
        ),
        ({"model": "fake/gpt", "messages": [USER], "stream": "yes"}, "stream", None),
        ({"model": "fake/gpt", "messages": [USER], "max_tokens": -1}, "max_tokens", None),
        ({"model": "fake/gpt", "messages": [USER], "max_tokens": 1e308}, "max_tokens", None),
        ({"model": "fake/gpt", "messages": [USER], "n": 10**30}, "n", None),
        ({"model": "fake/gpt", "messages": [USER], "tools": {"a": 1}}, "tools", None),
        ({"model": 7, "messages": [USER]}, "model", None),
    ],
)
def test_bad_requests_are_400(
    stack: Stack, body: dict[str, Any], param: str, code: str | None
) -> None:
    before = len(stack.upstream.seen)
    error = error_of(post(stack, body), 400)
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert len(stack.upstream.seen) == before  # no upstream call


@pytest.mark.parametrize("content", [b"{not json", b"[]", b""])
def test_malformed_json_is_400(stack: Stack, content: bytes) -> None:
    assert error_of(post(stack, content), 400)["code"] == "invalid_json"


def test_a_nul_character_is_relayed_not_stored(stack: Stack) -> None:
    """Model requests are never stored: a NUL goes upstream; a NUL model id is unknown."""
    body = b'{"model": "fake/gpt", "messages": [{"role": "user", "content": "a\\u0000b"}]}'
    assert post(stack, body).status_code == 200
    assert stack.upstream.seen[-1].body["messages"][0]["content"] == "a\x00b"
    unknown = b'{"model": "a\\u0000", "messages": [{"role": "user", "content": "x"}]}'
    assert error_of(post(stack, unknown), 404)["param"] == "model"


def test_oversized_body_is_413(stack: Stack) -> None:
    body = {"model": "fake/gpt", "messages": [{"role": "user", "content": "x" * 300_000}]}
    error_of(post(stack, body), 413)


def test_unknown_deprecated_and_forbidden_models(stack: Stack) -> None:
    assert error_of(post(stack, {"model": "fake/nope", "messages": [USER]}), 404)["param"] == (
        "model"
    )
    assert error_of(post(stack, {"model": "fake/old", "messages": [USER]}), 410)["code"] == (
        "model_deprecated"
    )
    narrow = create_key(stack.gateway.env, "--name", "narrow", "--models", "fake/gpt")
    wait_until(lambda: key_works(stack.gateway, narrow), timeout=5)
    refused = error_of(post(stack, {"model": "fake/claude", "messages": [USER]}, narrow), 403)
    assert refused["code"] == "model_not_allowed" and refused["param"] == "model"
    assert post(stack, {"model": "fake/gpt", "messages": [USER]}, narrow).status_code == 200


def test_authentication_is_required(stack: Stack) -> None:
    response = post(
        stack, {"model": "fake/gpt", "messages": [USER]}, key="sk-quantized-" + "n" * 43
    )
    assert response.status_code == 401
    client = OpenAI(api_key="sk-quantized-" + "n" * 43, base_url=f"{stack.gateway.url}/v1")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="fake/gpt", messages=[USER])  # type: ignore[list-item]


def test_sdk_raises_bad_request_with_the_message(stack: Stack) -> None:
    client = OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="does not support tools"):
        client.chat.completions.create(
            model="fake/text-only",
            messages=[USER],  # type: ignore[list-item]
            tools=TOOLS,
        )  # type: ignore[arg-type]


def test_wrong_method_is_405(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/v1/chat/completions")
    error_of(response, 405)
    assert response.headers["allow"] == "POST"
