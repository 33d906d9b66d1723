"""/admin/v1/models over HTTP: CRUD, validation, bulk import, effect on /v1/models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.callers import Callers, assert_error
from tests.utils.catalogs import entry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def listed(callers: Callers, key: str | None = None) -> dict[str, Any]:
    with callers.client(key or callers.user_key) as client:
        return {m["id"]: m for m in client.get("/v1/models").json()}


def test_create_get_list_and_listing(callers: Callers) -> None:
    body = entry("acme/rocket-1", cost={"prompt": 1.5, "completion": 6})
    with callers.admin as client:
        created = client.post("/admin/v1/models", json=body)
        assert created.status_code == 201, created.text
        model = created.json()
        assert model["id"] == "acme/rocket-1" and model["status"] == "active"
        assert model["cost"] == {
            "prompt": 1.5,
            "completion": 6,
            "input_cache_read": 1.5,
            "input_cache_write": None,
        }
        assert model["upstreams"][0]["api_key_env"] == "EXAMPLE_API_KEY"
        assert client.get("/admin/v1/models/acme/rocket-1").json() == model
        everything = {m["id"] for m in client.get("/admin/v1/models").json()["data"]}
        assert "acme/rocket-1" in everything
    public = listed(callers)["acme/rocket-1"]  # visible at once: this process applied it
    assert public["cost"]["prompt"] == 1.5
    assert "upstreams" not in public


PUBLIC_COST = {"prompt", "completion", "input_cache_read"}


def test_a_cache_write_price_is_administered_but_never_listed(callers: Callers) -> None:
    cost = {"prompt": 3, "completion": 15, "input_cache_read": 0.3, "input_cache_write": 3.75}
    with callers.admin as client:
        created = client.post("/admin/v1/models", json=entry("acme/writer", cost=cost))
        assert created.status_code == 201, created.text
        assert created.json()["cost"] == cost
        assert client.get("/admin/v1/models/acme/writer").json()["cost"] == cost
        shipped = client.get("/admin/v1/models/anthropic/claude-haiku-4.5").json()
        assert shipped["cost"]["input_cache_write"] == 1.25
        patch = {"cost": {"prompt": 4, "input_cache_write": 5}}
        patched = client.patch("/admin/v1/models/acme/writer", json=patch)
        assert patched.json()["cost"] == {**cost, "prompt": 4, "input_cache_write": 5}
        bad = {"cost": {"input_cache_write": -0.01}}
        assert_error(
            client.patch("/admin/v1/models/acme/writer", json=bad), 400, "cost.input_cache_write"
        )
    sdk = {"X-Stainless-Lang": "python", "User-Agent": "OpenAI/Python 1.0"}
    with callers.client(callers.user_key) as user:
        for model_id in ("acme/writer", "anthropic/claude-haiku-4.5"):
            assert set(listed(callers)[model_id]["cost"]) == PUBLIC_COST
            one = user.get(f"/v1/models/{model_id}").json()
            assert set(one["cost"]) == PUBLIC_COST
            enveloped = {m["id"]: m for m in user.get("/v1/models", headers=sdk).json()["data"]}
            assert set(enveloped[model_id]["cost"]) == PUBLIC_COST
    with callers.admin as client:
        removed = client.patch(
            "/admin/v1/models/acme/writer", json={"cost": {"input_cache_write": None}}
        )
        assert removed.json()["cost"]["input_cache_write"] is None
        assert removed.json()["cost"]["prompt"] == 4


def test_create_conflict(callers: Callers) -> None:
    body = entry("acme/dup")
    with callers.admin as client:
        assert client.post("/admin/v1/models", json=body).status_code == 201
        assert_error(client.post("/admin/v1/models", json=body), 409, "id")


@pytest.mark.parametrize(
    ("override", "param"),
    [
        ({"surprise": True}, "surprise"),
        ({"name": 42}, "name"),
        ({"cost": {"prompt": "1", "completion": 1}}, "cost.prompt"),
        ({"cost": {"prompt": -1, "completion": 1}}, "cost.prompt"),
        (
            {"cost": {"prompt": 1, "completion": 1, "input_cache_write": -1}},
            "cost.input_cache_write",
        ),
        (
            {"cost": {"prompt": 1, "completion": 1, "input_cache_write": "2"}},
            "cost.input_cache_write",
        ),
        ({"id": "not-an-author-slug"}, "id"),
        ({"id": "Acme/Upper"}, "id"),
        ({"input_modalities": ["text", "smell"]}, "input_modalities[1]"),
        ({"supported_features": ["vision"]}, "supported_features[0]"),
        ({"status": "retired"}, "status"),
        ({"context_length": "big"}, "context_length"),
        ({"created": "yesterday"}, "created"),
        ({"created": "2025-04-14 10:00"}, "created"),
        ({"price_source": {"url": "https://x", "checked": 0}}, "price_source.checked"),
        ({"price_source": {"url": "https://x", "checked": "2026-02-30"}}, "price_source.checked"),
        ({"input_modalities": ["text", "text"]}, "input_modalities"),
        ({"description": "a\u0000b"}, None),
        (
            {"upstreams": [{"provider": "openai", "base_url": "ftp://x", "model": "m"}]},
            "upstreams[0].base_url",
        ),
    ],
)
def test_validation_names_the_field(
    callers: Callers, override: dict[str, Any], param: str | None
) -> None:
    body = {**entry("acme/invalid"), **override}
    with callers.admin as client:
        assert_error(client.post("/admin/v1/models", json=body), 400, param)
        assert client.get("/admin/v1/models/acme/invalid").status_code == 404


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "invalid_json"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "invalid_json"),
        (b"", {"content-type": "application/json"}, 400, "invalid_json"),
        (b'{"a": 1}', {"content-type": "text/plain"}, 400, "unsupported_media_type"),
    ],
)
def test_malformed_bodies(
    callers: Callers, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    with callers.admin as client:
        response = client.post("/admin/v1/models", content=content, headers=headers)
    assert_error(response, status)
    assert response.json()["error"]["code"] == code


def test_oversized_body_is_413(callers: Callers) -> None:
    with callers.admin as client:
        response = client.post(
            "/admin/v1/models/import",
            content=b'{"models": [' + b" " * (33 * 1024 * 1024) + b"]}",
            headers={"content-type": "application/json"},
        )
    assert_error(response, 413)


def test_replace(callers: Callers) -> None:
    with callers.admin as client:
        created = client.put("/admin/v1/models/acme/put-me", json=entry("acme/put-me"))
        assert created.status_code == 201
        body = {k: v for k, v in entry("acme/put-me", name="Put Me Again").items() if k != "id"}
        replaced = client.put("/admin/v1/models/acme/put-me", json=body)
        assert replaced.status_code == 200 and replaced.json()["name"] == "Put Me Again"
        mismatch = client.put("/admin/v1/models/acme/put-me", json=entry("acme/other"))
        assert_error(mismatch, 409, "id")  # RFC 9110: a representation at odds with its target
        encoded = client.put("/admin/v1/models/acme%2Fput-me", json=body)
        assert encoded.status_code == 200, encoded.text


def test_patch_price_and_status(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("acme/patchy"))
        patched = client.patch("/admin/v1/models/acme/patchy", json={"cost": {"prompt": 7}})
        assert patched.status_code == 200
        assert patched.json()["cost"] == {
            "prompt": 7,
            "completion": 4,
            "input_cache_read": 0.25,
            "input_cache_write": None,
        }
        assert listed(callers)["acme/patchy"]["cost"]["prompt"] == 7

        removed = client.patch("/admin/v1/models/acme/patchy", json={"description": None})
        assert removed.json()["description"] is None

        deprecated = client.patch("/admin/v1/models/acme/patchy", json={"status": "deprecated"})
        assert deprecated.json()["status"] == "deprecated"
    assert "acme/patchy" not in listed(callers)
    with callers.client(callers.user_key) as user:
        gone = user.get("/v1/models/acme/patchy")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "model_deprecated"
    with callers.admin as client:
        client.patch("/admin/v1/models/acme/patchy", json={"status": "disabled"})
        assert client.get("/v1/models/acme/patchy").status_code == 404
        client.patch("/admin/v1/models/acme/patchy", json={"status": "active"})
    assert "acme/patchy" in listed(callers)


def test_patch_errors(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("acme/patch-errors"))
        assert_error(
            client.patch("/admin/v1/models/acme/patch-errors", json={"cost": {"prompt": -3}}),
            400,
            "cost.prompt",
        )
        assert_error(
            client.patch("/admin/v1/models/acme/patch-errors", json={"id": "x/y"}), 400, "id"
        )
        assert_error(client.patch("/admin/v1/models/acme/nope", json={"name": "n"}), 404)
        after = client.get("/admin/v1/models/acme/patch-errors").json()
    assert after["cost"]["prompt"] == 1


def test_delete(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("acme/doomed"))
        assert "acme/doomed" in listed(callers)
        deleted = client.delete("/admin/v1/models/acme/doomed")
        assert deleted.json() == {"id": "acme/doomed", "object": "model", "deleted": True}
        assert_error(client.get("/admin/v1/models/acme/doomed"), 404)
        assert_error(client.delete("/admin/v1/models/acme/doomed"), 404)
    assert "acme/doomed" not in listed(callers)


def test_bulk_import_is_all_or_nothing(callers: Callers) -> None:
    good = [entry(f"bulk/ok-{i}") for i in range(3)]
    bad = entry("bulk/bad", cost={"prompt": -1, "completion": 1})
    with callers.admin as client:
        response = client.post("/admin/v1/models/import", json={"models": [*good, bad]})
        message = assert_error(response, 400, "models[3].cost.prompt")
        assert "entry 'bulk/bad'" in message
        duplicate = client.post("/admin/v1/models/import", json={"models": [good[0], good[0]]})
        assert_error(duplicate, 400, "models[1].id")
        assert not any(m.startswith("bulk/") for m in listed(callers, callers.admin_key))
        ok = client.post("/admin/v1/models/import", json={"version": 1, "models": good})
        assert ok.json()["inserted"] == 3 and ok.json()["updated"] == 0
    assert {f"bulk/ok-{i}" for i in range(3)} <= set(listed(callers))


def test_bulk_import_yaml_and_foreign_formats(callers: Callers) -> None:
    yaml_body = b"models:\n  - id: yaml/one\n    name: One\n    cost: {prompt: 1, completion: 2}\n"
    with callers.admin as client:
        response = client.post(
            "/admin/v1/models/import",
            content=yaml_body,
            headers={"content-type": "application/yaml"},
        )
        assert response.status_code == 200, response.text
        openrouter = client.post(
            "/admin/v1/models/import",
            params={"format": "openrouter"},
            content=(FIXTURES / "openrouter_models.json").read_bytes(),
            headers={"content-type": "application/json"},
        )
        body = openrouter.json()
        assert body["format"] == "openrouter" and len(body["models"]) == 5
        assert body["skipped"] == [
            {"name": "openrouter/auto", "reason": "variable pricing (negative prices)"}
        ]
        litellm = client.post(
            "/admin/v1/models/import",
            params={"format": "litellm"},
            content=(FIXTURES / "litellm_model_prices.json").read_bytes(),
            headers={"content-type": "application/json"},
        )
        assert litellm.status_code == 200 and len(litellm.json()["models"]) == 12
        assert_error(
            client.post("/admin/v1/models/import", params={"format": "csv"}, json={}), 400, "format"
        )
    assert "yaml/one" in listed(callers)
    assert listed(callers)["meta-llama/llama-3.3-70b-versatile"]["cost"]["prompt"] == 0.59
    assert listed(callers)["mistralai/mistral-embed"]["endpoints"] == ["embeddings"]


def test_model_audit_entries(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("audit/m"))
        client.patch("/admin/v1/models/audit/m", json={"cost": {"prompt": 2}})
        client.delete("/admin/v1/models/audit/m")
        data = client.get("/admin/v1/audit", params={"entity_id": "audit/m"}).json()["data"]
    assert [e["action"] for e in data] == ["model.delete", "model.update", "model.create"]
    delete, update, create = data
    assert create["before"] is None and create["after"]["id"] == "audit/m"
    assert update["before"]["cost"]["prompt"] == 1 and update["after"]["cost"]["prompt"] == 2
    assert delete["before"]["cost"]["prompt"] == 2 and delete["after"] is None
    assert all(e["actor"]["kind"] == "key" for e in data)
    assert data[0]["at"] >= data[1]["at"] >= data[2]["at"]


def test_audit_paging_and_filters(callers: Callers) -> None:
    with callers.admin as client:
        first = client.get("/admin/v1/audit", params={"limit": 2}).json()
        assert len(first["data"]) == 2 and first["has_more"] is True
        older = client.get(
            "/admin/v1/audit", params={"limit": 2, "before": first["data"][-1]["id"]}
        ).json()
        assert older["data"][0]["id"] < first["data"][-1]["id"]
        assert_error(client.get("/admin/v1/audit", params={"limit": 0}), 400, "limit")
        assert_error(client.get("/admin/v1/audit", params={"entity": "thing"}), 400, "entity")
        assert_error(client.get("/admin/v1/audit", params={"colour": "x"}), 400, "colour")


def test_patch_accepts_merge_patch_media_type(callers: Callers) -> None:
    with callers.admin as client:
        client.post("/admin/v1/models", json=entry("acme/merge"))
        response = client.patch(
            "/admin/v1/models/acme/merge",
            content=b'{"name": "Merged"}',
            headers={"content-type": "application/merge-patch+json"},
        )
    assert response.json()["name"] == "Merged"


def test_admin_paths_reject_non_admin_even_for_unknown_models(callers: Callers) -> None:
    with httpx.Client(base_url=callers.gateway.url) as anonymous:
        assert_error(anonymous.get("/admin/v1/models/x/y"), 401)
