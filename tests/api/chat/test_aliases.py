"""Requests naming a model by an alias: the same model, upstream, price, access rule and
ledger id as by its catalog id; retrieval answers as for the id; listings never show it."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.utils.anthropic_clients import sdk
from tests.utils.keys import create_key, key_works
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack

EXPECTED_PUSD = 400_000_000  # 100 prompt (40 cached), 20 completion: see test_ledger.py


def chat(
    stack: Stack, model: str, key: str | None = None, **extra: Any
) -> tuple[httpx.Response, str]:
    marker = secrets.token_hex(8)
    message = {"role": "user", "content": f"hello {marker}"}
    with stack.client(key) as client:
        response = client.post(
            "/v1/chat/completions", json={"model": model, "messages": [message], **extra}
        )
    return response, marker


def upstream_model(stack: Stack, marker: str) -> str:
    seen = [s for s in stack.upstream.seen if marker in json.dumps(s.body)]
    assert len(seen) == 1
    return str(seen[0].body["model"])


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [
        ("fake-gpt-alias", "fake/gpt"),
        ("fake-gpt-2026-01-01", "fake/gpt"),
        ("fake-claude-alias", "fake/claude"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_an_alias_reaches_the_models_upstream_and_is_billed_as_the_model(
    stack: Stack, alias: str, model_id: str, stream: bool
) -> None:
    response, marker = chat(stack, alias, stream=stream)
    assert response.status_code == 200, response.text
    assert upstream_model(stack, marker) == "usage-100-40-20"  # the upstream's name, not ours
    row = stack.row(response.headers["x-request-id"])
    assert row["model"] == model_id
    assert (row["status"], row["cost_pusd"]) == (200, EXPECTED_PUSD)


def test_the_sdk_works_by_alias(stack: Stack) -> None:
    client = OpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)
    reply = client.chat.completions.create(
        model="fake-gpt-alias",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert reply.usage is not None and reply.usage.prompt_tokens == 100
    assert client.models.retrieve("fake-gpt-alias").id == "fake/gpt"


@pytest.mark.parametrize(
    ("alias", "model_id"), [("claude-alias", "fake/claude"), ("gpt-alias", "fake/gpt")]
)
def test_the_messages_api_takes_aliases_too(stack: Stack, alias: str, model_id: str) -> None:
    """As Claude Code sends Anthropic's names: passed through to an Anthropic upstream,
    translated for another, always under the upstream's name and billed as the model."""
    marker = secrets.token_hex(8)
    raw = sdk(stack).messages.with_raw_response.create(
        model=f"fake-{alias}",
        max_tokens=64,
        messages=[{"role": "user", "content": f"hello {marker}"}],
    )
    assert raw.parse().usage.output_tokens == 20
    assert upstream_model(stack, marker) == "usage-100-40-20"
    row = stack.row(raw.headers["request-id"])
    assert (row["model"], row["status"]) == (model_id, 200)


def test_retrieval_by_alias_is_retrieval_by_id_and_listings_show_no_alias(stack: Stack) -> None:
    with stack.client() as client:
        by_id = client.get("/v1/models/fake/gpt")
        by_alias = client.get("/v1/models/fake-gpt-alias")
        assert by_alias.status_code == 200
        assert by_alias.content == by_id.content and by_alias.json()["id"] == "fake/gpt"
        assert by_alias.headers["etag"] == by_id.headers["etag"]
        sdk = {"X-Stainless-Lang": "python"}
        assert client.get("/v1/models/fake-gpt-alias", headers=sdk).json()["object"] == "model"
        gone = client.get("/v1/models/fake-old-alias")
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "model_deprecated"
        assert client.get("/v1/models/fake-no-such-alias").status_code == 404
        listing = client.get("/v1/models").json()
        enveloped = client.get("/v1/models", headers=sdk).json()["data"]
    for models in (listing, enveloped):
        ids = [m["id"] for m in models]
        assert "fake/gpt" in ids and len(ids) == len(set(ids))
        assert all("/" in i and "alias" not in i for i in ids)
        assert all("aliases" not in m for m in models)


def test_access_is_decided_by_the_models_id(stack: Stack) -> None:
    narrow = create_key(stack.gateway.env, "--name", "alias-narrow", "--models", "fake/gpt")
    wait_until(lambda: key_works(stack.gateway, narrow), timeout=5)
    allowed, _ = chat(stack, "fake-gpt-alias", narrow)
    assert allowed.status_code == 200
    refused, marker = chat(stack, "fake-claude-alias", narrow)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_allowed", "model")
    assert not [s for s in stack.upstream.seen if marker in json.dumps(s.body)]
    assert stack.row(refused.headers["x-request-id"])["model"] == "fake/claude"
    with stack.client(narrow) as client:
        assert client.get("/v1/models/fake-gpt-alias").status_code == 200
        hidden = client.get("/v1/models/fake-claude-alias")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "model_not_found"
