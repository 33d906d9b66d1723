"""``POST /v1/embeddings`` with the official SDK: every input shape, both encodings,
``dimensions``, the answer relayed byte for byte, and what the ledger records."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.utils.keys import create_key, key_works
from tests.utils.processes import wait_until
from tests.utils.stacks import EMBED_PRICE, PROVIDER_KEY, Stack
from tests.utils.upstream_embeddings import DIMENSIONS, vector

PICO_A_TOKEN = round(EMBED_PRICE * 1_000_000)
"""The price of one prompt token in picodollars (USD per million tokens x 10^6)."""


@pytest.mark.parametrize(
    ("given", "items", "tokens"),
    [
        ("the quick brown fox", ["the quick brown fox"], 4),
        (["one", "two words", "three more words"], ["one", "two words", "three more words"], 6),
        ([101, 2023, 2003, 102], [[101, 2023, 2003, 102]], 4),
        ([[1, 2, 3], [4, 5]], [[1, 2, 3], [4, 5]], 5),
    ],
)
def test_every_input_shape(
    stack: Stack, client: OpenAI, given: Any, items: list[Any], tokens: int
) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="fake/embed", input=given, encoding_format="float"
    )
    answer = raw.parse()
    assert [e.index for e in answer.data] == list(range(len(items)))
    assert [e.embedding for e in answer.data] == [vector(item) for item in items]
    assert answer.usage.prompt_tokens == tokens
    sent = stack.upstream.seen[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"model": "embed", "input": given, "encoding_format": "float"}
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    row = stack.row(raw.headers["x-request-id"])
    assert (row["status"], row["model"], row["stream"], row["estimated"]) == (
        200,
        "fake/embed",
        0,
        0,
    )
    assert (row["prompt_tokens"], row["completion_tokens"]) == (tokens, 0)
    assert row["cost_pusd"] == tokens * PICO_A_TOKEN  # 0.13 USD a million tokens, exactly
    assert row["upstream"].endswith(" embed") and row["error_code"] is None


def test_base64_vectors_are_the_float_ones(stack: Stack, client: OpenAI) -> None:
    """The SDK asks for base64 unless told otherwise, and decodes it; asked for base64
    explicitly, it hands over OpenAI's string: little-endian float32s."""
    words = ["alpha", "beta gamma"]
    floats = client.embeddings.create(model="fake/embed", input=words, encoding_format="float")
    decoded = client.embeddings.create(model="fake/embed", input=words)
    assert stack.upstream.seen[-1].body["encoding_format"] == "base64"
    assert [e.embedding for e in decoded.data] == [e.embedding for e in floats.data]
    explicit = client.embeddings.create(model="fake/embed", input=words, encoding_format="base64")
    for item, embedding in zip(floats.data, explicit.data, strict=True):
        assert isinstance(embedding.embedding, str)
        packed = base64.b64decode(embedding.embedding)
        assert list(struct.unpack(f"<{DIMENSIONS}f", packed)) == item.embedding


def test_dimensions_and_unknown_fields_reach_the_upstream(stack: Stack, client: OpenAI) -> None:
    answer = client.embeddings.create(
        model="fake/embed",
        input="short",
        dimensions=3,
        encoding_format="float",
        user="user-7",
        extra_body={"vendor_option": {"truncate": "END"}},
    )
    assert answer.data[0].embedding == vector("short", 3)
    sent = stack.upstream.seen[-1].body
    assert (sent["dimensions"], sent["user"]) == (3, "user-7")
    assert sent["vendor_option"] == {"truncate": "END"}


def test_a_large_answer_is_relayed_byte_for_byte(stack: Stack) -> None:
    """About 3 MB of float vectors: the client gets exactly the upstream's bytes."""
    body = {"input": [f"text number {i}" for i in range(96)], "dimensions": 3072}
    with stack.client() as client:
        through = client.post("/v1/embeddings", json={"model": "fake/embed", **body})
    direct = httpx.post(
        f"{stack.upstream.base_url}/v1/embeddings", json={"model": "embed", **body}, timeout=30
    )
    assert through.status_code == direct.status_code == 200
    assert len(through.content) > 3_000_000
    assert through.content == direct.content
    assert through.headers["content-type"] == "application/json"
    row = stack.row(through.headers["x-request-id"])
    assert row["prompt_tokens"] == 3 * 96 and row["estimated"] == 0


def test_an_answer_without_usage_is_billed_at_an_estimate_and_flagged(stack: Stack) -> None:
    """Four characters a token for text (at least one an input), one a token array's token."""
    for given, estimate in (("x" * 41, 10), (["abcdefgh", "a"], 3), ([[1, 2, 3], [4]], 4)):
        with stack.client() as client:
            response = client.post(
                "/v1/embeddings", json={"model": "fake/embed-nousage", "input": given}
            )
        assert response.status_code == 200, response.text
        assert "usage" not in response.json()
        row = stack.row(response.headers["x-request-id"])
        assert (row["prompt_tokens"], row["estimated"]) == (estimate, 1), given
        assert row["cost_pusd"] == estimate * PICO_A_TOKEN


def key(stack: Stack, name: str, *options: str) -> str:
    created = create_key(stack.gateway.env, "--name", name, *options)
    wait_until(lambda: key_works(stack.gateway, created), timeout=5)
    return created


def test_a_key_limited_to_one_embedding_model(stack: Stack) -> None:
    narrow = key(stack, "embed-only", "--models", "fake/embed")
    with stack.client(narrow) as client:
        allowed = client.post("/v1/embeddings", json={"model": "fake/embed", "input": "hi"})
        refused = client.post("/v1/embeddings", json={"model": "fake/embed-nousage", "input": "x"})
    assert allowed.status_code == 200
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "model"


def test_tokens_count_against_the_callers_rate_limit(stack: Stack) -> None:
    limited = key(stack, "embed-tpm", "--models", "fake/*", "--tpm", "1000")
    body = {"model": "fake/embed", "input": list(range(600))}
    with stack.client(limited) as client:
        first, second, third = (client.post("/v1/embeddings", json=body) for _ in range(3))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["x-ratelimit-remaining-tokens"] == "1000"
    assert second.headers["x-ratelimit-remaining-tokens"] == "400"  # the first one's 600 counted
    assert third.status_code == 429
    assert "1000 tokens per minute" in third.json()["error"]["message"]


def test_the_cost_counts_against_the_callers_budget(stack: Stack) -> None:
    budgeted = key(stack, "embed-budget", "--models", "fake/*")
    with stack.client(stack.admin_key) as admin:
        listed = admin.get("/admin/v1/keys").json()["data"]
        key_id = next(k["id"] for k in listed if k["name"] == "embed-budget")
        assert admin.put(f"/admin/v1/budgets/key/{key_id}", json={"daily_usd": 0.001}).is_success
    # 4,000 tokens cost 0.00052 USD; the worst case reserved is the body's 18,924 bytes / 3,
    # 6,308 tokens, 0.00082004 USD: the second request does not fit what the first left
    body = {"model": "fake/embed", "input": [list(range(4000))]}
    with stack.client(budgeted) as client:
        statuses = [client.post("/v1/embeddings", json=body).status_code for _ in range(2)]
        assert statuses == [200, 429]
        refused = client.post("/v1/embeddings", json=body).json()["error"]
    assert refused["code"] == "budget_exceeded"
    assert "$0.00052 spent" in refused["message"]
