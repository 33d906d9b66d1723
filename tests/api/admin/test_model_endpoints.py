"""A model's endpoints and an upstream's ``responses`` flag over the admin API: shown,
taken back as shown, kept by patches of other fields, and validated naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils.callers import Callers, assert_error
from tests.utils.catalogs import entry

RESPONSES_UPSTREAM = {
    "provider": "openai",
    "base_url": "https://api.example.com/v1",
    "model": "e",
    "api_key_env": None,
    "responses": True,
}
SHOWN = {
    **RESPONSES_UPSTREAM,
    "name": None,
    "weight": 1,
    "tier": 0,
    "rpm": 0,
    "tpm": 0,
    "api_version": None,
    "region": None,
    "auth": None,
}
"""How the admin API shows it: every field, the routing ones at their defaults."""


def test_create_show_replace_and_patch(callers: Callers) -> None:
    body = entry("ends/embedder", endpoints=["embeddings"], upstreams=[RESPONSES_UPSTREAM])
    with callers.admin as client:
        created = client.post("/admin/v1/models", json=body)
        assert created.status_code == 201, created.text
        model = created.json()
        assert model["endpoints"] == ["embeddings"]
        assert model["upstreams"] == [SHOWN]
        assert model["routing"] == "ordered"
        path = "/admin/v1/models/ends/embedder"
        assert client.get(path).json() == model
        stored = {m["id"]: m for m in client.get("/admin/v1/models").json()["data"]}
        assert stored["ends/embedder"] == model
        assert client.put(path, json=model).json() == model  # what GET shows, PUT takes

        renamed = client.patch(path, json={"name": "Renamed"}).json()
        assert renamed["endpoints"] == ["embeddings"]  # a patch of another field keeps them
        assert renamed["upstreams"] == [SHOWN]
        both = client.patch(path, json={"endpoints": ["embeddings", "chat"]}).json()
        assert both["endpoints"] == ["embeddings", "chat"]
        reset = client.patch(path, json={"endpoints": None}).json()
        assert reset["endpoints"] == ["chat", "messages", "responses"]

        plain = client.post("/admin/v1/models", json=entry("ends/plain")).json()
        assert plain["endpoints"] == ["chat", "messages", "responses"]
        assert [u["responses"] for u in plain["upstreams"]] == [False]


@pytest.mark.parametrize(
    ("override", "param"),
    [
        ({"endpoints": ["completions"]}, "endpoints[0]"),
        ({"endpoints": []}, "endpoints"),
        ({"endpoints": ["chat", "chat"]}, "endpoints"),
        (
            {"upstreams": [{**RESPONSES_UPSTREAM, "provider": "anthropic"}]},
            "upstreams[0].responses",
        ),
        ({"upstreams": [{**RESPONSES_UPSTREAM, "responses": "yes"}]}, "upstreams[0].responses"),
    ],
)
def test_invalid_values_name_the_field(
    callers: Callers, override: dict[str, Any], param: str
) -> None:
    with callers.admin as client:
        created = client.post("/admin/v1/models", json=entry("ends/bad", **override))
        assert_error(created, 400, param)
        client.post("/admin/v1/models", json=entry("ends/patched"))
        patched = client.patch("/admin/v1/models/ends/patched", json=override)
        assert_error(patched, 400, param)
        assert_error(client.get("/admin/v1/models/ends/bad"), 404)
