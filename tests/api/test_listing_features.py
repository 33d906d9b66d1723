"""Filters, ETag / If-None-Match, gzip and Cache-Control on the live listing."""

from __future__ import annotations

import gzip
import json
import socket

import httpx
import pytest

from tests.utils.keys import Keys
from tests.utils.processes import Gateway


def get(gateway: Gateway, key: str, path: str = "/v1/models", **headers: str) -> httpx.Response:
    return httpx.get(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {key}", **headers})


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()]


def test_filters(gateway: Gateway, keys: Keys) -> None:
    everything = get(gateway, keys.plain).json()
    cases = {
        "?author=anthropic": [m for m in everything if m["model_author"] == "anthropic"],
        "?input_modality=image": [m for m in everything if m["input_modality"]["image"]],
        "?output_modality=text": [m for m in everything if m["output_modality"]["text"]],
        "?endpoint=embeddings": [m for m in everything if m["endpoints"] == ["embeddings"]],
        "?endpoint=responses,embeddings": everything,
        "?supported_features=tool_calls,structured_output": [
            m
            for m in everything
            if {"tool_calls", "structured_output"} <= set(m["supported_features"])
        ],
        "?endpoint=chat": [m for m in everything if "chat" in m["endpoints"]],
        "?author=openai&supported_features=reasoning": [
            m
            for m in everything
            if m["model_author"] == "openai" and "reasoning" in m["supported_features"]
        ],
    }
    for query, expected in cases.items():
        assert ids(get(gateway, keys.plain, f"/v1/models{query}")) == [m["id"] for m in expected]
        assert 0 < len(expected)
    texts, embedders = cases["?output_modality=text"], cases["?endpoint=embeddings"]
    assert len(texts) + len(embedders) == len(everything)  # embedding models put out no text


def test_filters_apply_within_the_callers_models(gateway: Gateway, keys: Keys) -> None:
    assert ids(get(gateway, keys.restricted, "/v1/models?author=google")) == []
    mine = ids(get(gateway, keys.restricted, "/v1/models?author=openai"))
    assert mine and all(i.startswith("openai/") for i in mine)


def test_filters_keep_the_sdk_envelope(gateway: Gateway, keys: Keys) -> None:
    body = get(gateway, keys.plain, "/v1/models?author=openai", **{"X-Stainless-Lang": "python"})
    assert body.json()["object"] == "list"
    assert all(m["owned_by"] == "openai" for m in body.json()["data"])


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("input_modality=smell", "input_modality"),
        ("supported_features=tool_calls,teleport", "supported_features"),
        ("output_modality=", "output_modality"),
        ("sort=price", "sort"),
        ("endpoint=completions", "endpoint"),
        ("endpoint=", "endpoint"),
    ],
)
def test_unknown_filter_values_are_400(
    gateway: Gateway, keys: Keys, query: str, param: str
) -> None:
    response = get(gateway, keys.plain, f"/v1/models?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and param in error["message"]


def test_etag_and_if_none_match(gateway: Gateway, keys: Keys) -> None:
    first = get(gateway, keys.plain, **{"Accept-Encoding": "identity"})
    tag = first.headers["etag"]
    assert tag.startswith('"') and first.headers["cache-control"].startswith("private, max-age=")
    again = get(gateway, keys.plain, **{"Accept-Encoding": "identity", "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    weak = get(
        gateway, keys.plain, **{"Accept-Encoding": "identity", "If-None-Match": f'"other", W/{tag}'}
    )
    assert weak.status_code == 304
    stale = get(gateway, keys.plain, **{"Accept-Encoding": "identity", "If-None-Match": '"x"'})
    assert stale.status_code == 200
    filtered = get(gateway, keys.plain, "/v1/models?author=openai")
    assert filtered.headers["etag"] != tag
    sdk = get(gateway, keys.plain, **{"Accept-Encoding": "identity", "X-Stainless-Lang": "python"})
    assert sdk.headers["etag"] != tag
    item = get(gateway, keys.plain, f"/v1/models/{first.json()[0]['id']}")
    assert (
        get(
            gateway,
            keys.plain,
            f"/v1/models/{first.json()[0]['id']}",
            **{"If-None-Match": item.headers["etag"]},
        ).status_code
        == 304
    )


def test_gzip_when_accepted(gateway: Gateway, keys: Keys) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(
            b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Accept-Encoding: gzip\r\nAuthorization: Bearer " + keys.plain.encode() + b"\r\n\r\n"
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower()
    plain = get(gateway, keys.plain, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert json.loads(gzip.decompress(body)) == plain.json()
    refused = get(gateway, keys.plain, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    small = get(
        gateway, keys.plain, f"/v1/models/{plain.json()[0]['id']}", **{"Accept-Encoding": "gzip"}
    )
    assert "content-encoding" not in small.headers  # under 1 KiB: not worth it
    assert "Accept-Encoding" in plain.headers["vary"]
