"""Aliases over the admin API: shown and accepted, unique (409 naming both models), and
answering on /v1/models/{alias} as the model's id does (never listed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.utils.callers import Callers, assert_error
from tests.utils.catalogs import entry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def conflict(response: Any, param: str, *names: str) -> None:
    message = assert_error(response, 409, param)
    assert response.json()["error"]["code"] == "alias_conflict"
    for name in names:
        assert f"'{name}'" in message, message


def test_create_show_resolve_and_round_trip(callers: Callers) -> None:
    with callers.admin as client:
        created = client.post(
            "/admin/v1/models", json=entry("alias/one", aliases=["one", "one-2026"])
        )
        assert created.status_code == 201, created.text
        model = created.json()
        assert model["aliases"] == ["one", "one-2026"]
        assert client.get("/admin/v1/models/alias/one").json() == model
        stored = {m["id"]: m for m in client.get("/admin/v1/models").json()["data"]}
        assert stored["alias/one"]["aliases"] == ["one", "one-2026"]
        again = client.put("/admin/v1/models/alias/one", json=model)  # what GET shows, PUT takes
        assert again.status_code == 200 and again.json() == model
    with callers.client(callers.user_key) as user:
        by_id = user.get("/v1/models/alias/one")
        for name in ("one", "one-2026"):
            by_alias = user.get(f"/v1/models/{name}")
            assert by_alias.status_code == 200
            assert by_alias.content == by_id.content and by_alias.json()["id"] == "alias/one"
            assert by_alias.headers["etag"] == by_id.headers["etag"]
        listing = user.get("/v1/models").json()
    assert [m["id"] for m in listing].count("alias/one") == 1
    assert not {"one", "one-2026"} & {m["id"] for m in listing}
    assert all("aliases" not in m for m in listing)


def test_create_and_replace_clashes_are_409(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("alias/held", aliases=["held"]))
        taken = client.post("/admin/v1/models", json=entry("alias/new", aliases=["held"]))
        conflict(taken, "aliases", "held", "alias/new", "alias/held")
        an_id = client.post("/admin/v1/models", json=entry("alias/new", aliases=["alias/held"]))
        conflict(an_id, "aliases", "alias/held", "alias/new")
        own = client.post("/admin/v1/models", json=entry("alias/new", aliases=["alias/new"]))
        assert_error(own, 400, "aliases")
        client.post("/admin/v1/models", json=entry("alias/holds-an-id", aliases=["alias/later"]))
        named = client.post("/admin/v1/models", json=entry("alias/later"))
        conflict(named, "id", "alias/later", "alias/holds-an-id")
        replaced = client.put(
            "/admin/v1/models/alias/new", json=entry("alias/new", aliases=["held"])
        )
        conflict(replaced, "aliases", "held", "alias/held")
        for refused in ("alias/new", "alias/later"):
            assert_error(client.get(f"/admin/v1/models/{refused}"), 404)
        own_again = client.put(
            "/admin/v1/models/alias/held", json=entry("alias/held", aliases=["held"])
        )
        assert own_again.status_code == 200  # a model keeps its own alias


def test_patch_sets_changes_and_removes_aliases(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("alias/patchy"))
        client.post("/admin/v1/models", json=entry("alias/other", aliases=["other"]))
        path = "/admin/v1/models/alias/patchy"
        assert client.patch(path, json={"aliases": ["p1", "p2"]}).json()["aliases"] == ["p1", "p2"]
        assert client.get("/v1/models/p2").json()["id"] == "alias/patchy"
        conflict(client.patch(path, json={"aliases": ["p1", "other"]}), "aliases", "other")
        assert_error(client.patch(path, json={"aliases": ["P1"]}), 400, "aliases[0]")
        assert client.get(path).json()["aliases"] == ["p1", "p2"]
        assert client.patch(path, json={"aliases": None}).json()["aliases"] == []
        assert_error(client.get("/v1/models/p2"), 404)
        data = client.get("/admin/v1/audit", params={"entity_id": "alias/patchy"}).json()["data"]
    removal, *_ = data
    assert removal["before"]["aliases"] == ["p1", "p2"] and removal["after"]["aliases"] == []


def test_import_in_our_format_refuses_a_clash_whole(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("alias/kept", aliases=["kept"]))
        document = {"models": [entry("alias/i-1"), entry("alias/i-2", aliases=["kept"])]}
        response = client.post("/admin/v1/models/import", json=document)
        conflict(response, "models[1].aliases", "kept", "alias/i-2", "alias/kept")
        assert_error(client.get("/admin/v1/models/alias/i-1"), 404)
        moved = {  # an alias may move between models written together
            "models": [entry("alias/kept"), entry("alias/i-2", aliases=["kept"])]
        }
        assert client.post("/admin/v1/models/import", json=moved).status_code == 200
        assert client.get("/v1/models/kept").json()["id"] == "alias/i-2"


def test_foreign_import_leaves_clashing_aliases_out_and_says_so(callers: Callers) -> None:
    with callers.admin as client:
        nano = client.get("/admin/v1/models/openai/gpt-4.1-nano").json()
        assert "gpt-4.1-nano-2025-04-14" in nano["aliases"]  # the shipped catalog's
        response = client.post(
            "/admin/v1/models/import",
            params={"format": "litellm"},
            content=(FIXTURES / "litellm_model_prices.json").read_bytes(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert {
            "name": "claude-haiku-4-5",
            "reason": "alias 'claude-haiku-4-5' of "
            "'anthropic/claude-haiku-4-5' is already an alias of 'anthropic/claude-haiku-4.5'",
        } in report["aliases_skipped"]
        imported = client.get("/admin/v1/models/anthropic/claude-haiku-4-5").json()
        assert imported["aliases"] == []
        updated = client.get("/admin/v1/models/openai/gpt-4.1-nano").json()
        assert updated["aliases"] == nano["aliases"]  # kept; LiteLLM's own was among them
        groq = client.get("/admin/v1/models/meta-llama/llama-3.3-70b-versatile").json()
        assert groq["aliases"] == []  # the shipped catalog has Groq's name for Llama 3.3
        skipped = {s["name"] for s in report["aliases_skipped"]}
        assert skipped == {"claude-haiku-4-5", "llama-3.3-70b-versatile"}
        grok = client.get("/admin/v1/models/x-ai/grok-4.3").json()
        assert grok["aliases"] == ["grok-4.3"]  # kept, and LiteLLM's is the same
        assert (
            client.get("/v1/models/claude-haiku-4-5").json()["id"] == "anthropic/claude-haiku-4.5"
        )
