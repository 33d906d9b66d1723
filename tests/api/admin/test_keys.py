"""/admin/v1/keys over HTTP: issue, list, get, change, revoke, import by digest."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from tests.utils.callers import Callers, assert_error

PUBLIC_FIELDS = {
    "object",
    "id",
    "name",
    "prefix",
    "models",
    "is_admin",
    "created_at",
    "expires_at",
    "revoked_at",
    "rpm_limit",
    "tpm_limit",
    "team_id",
    "person",
}


def works(callers: Callers, secret: str) -> httpx.Response:
    with callers.client(secret) as client:
        return client.get("/v1/models")


def test_create_returns_the_secret_once(callers: Callers) -> None:
    with callers.admin as client:
        created = client.post(
            "/admin/v1/keys", json={"name": "svc", "models": ["openai/*"], "expires_in": "7d"}
        )
        assert created.status_code == 201
        key = created.json()
        assert set(key) == PUBLIC_FIELDS | {"secret"}
        assert key["secret"].startswith(key["prefix"])
        assert key["models"] == ["openai/*"]
        assert key["expires_at"] - key["created_at"] == pytest.approx(7 * 86400, abs=1)
        shown = client.get(f"/admin/v1/keys/{key['id']}").json()
        assert set(shown) == PUBLIC_FIELDS
        everything = client.get("/admin/v1/keys").text
    assert key["secret"] not in everything
    listing = works(callers, key["secret"]).json()
    assert listing and all(m["id"].startswith("openai/") for m in listing)


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": "   "}, 400, "name"),
        ({"name": "x", "surprise": 1}, 400, "surprise"),
        ({"name": "x", "models": "openai/*"}, 400, "models"),
        ({"name": "x", "models": ["nobody/*"]}, 409, "models"),
        ({"name": "x", "expires_in": "soon"}, 400, "expires_in"),
        ({"name": "x", "expires_in": "0d"}, 400, "expires_in"),
        ({"name": "x", "is_admin": "yes"}, 400, "is_admin"),
        ({"name": "x", "rpm_limit": "5"}, 400, "rpm_limit"),
        ({"name": "x", "rpm_limit": 5.5}, 400, "rpm_limit"),
    ],
)
def test_create_validation(
    callers: Callers, body: dict[str, object], status: int, param: str
) -> None:
    with callers.admin as client:
        before = len(client.get("/admin/v1/keys").json()["data"])
        assert_error(client.post("/admin/v1/keys", json=body), status, param)
        assert len(client.get("/admin/v1/keys").json()["data"]) == before


def test_change_and_revoke(callers: Callers) -> None:
    with callers.admin as client:
        key = client.post("/admin/v1/keys", json={"name": "mutable"}).json()
        secret = key["secret"]
        assert works(callers, secret).status_code == 200
        changed = client.patch(
            f"/admin/v1/keys/{key['id']}", json={"name": "renamed", "models": ["anthropic/*"]}
        )
        assert changed.json()["name"] == "renamed"
        assert all(m["id"].startswith("anthropic/") for m in works(callers, secret).json())
        expired = client.patch(f"/admin/v1/keys/{key['id']}", json={"expires_at": time.time() - 1})
        assert expired.status_code == 200
        assert "expired at" in works(callers, secret).json()["error"]["message"]
        renewed = client.patch(
            f"/admin/v1/keys/{key['id']}", json={"expires_at": None, "models": None}
        )
        assert renewed.json()["expires_at"] is None and renewed.json()["models"] is None
        assert works(callers, secret).status_code == 200
        later = client.patch(
            f"/admin/v1/keys/{key['id']}", json={"expires_at": "2030-01-01T00:00:00Z"}
        )
        assert later.json()["expires_at"] == 1893456000.0
        revoked = client.post(f"/admin/v1/keys/{key['id']}/revoke")
        assert revoked.json()["revoked_at"] is not None
        assert "revoked" in works(callers, secret).json()["error"]["message"]
        assert_error(
            client.patch(f"/admin/v1/keys/{key['id']}", json={"expires_at": "soon"}),
            400,
            "expires_at",
        )
        assert_error(client.patch(f"/admin/v1/keys/{key['id']}", json={"name": None}), 400, "name")
        assert client.get(f"/admin/v1/keys/{key['id']}").json()["name"] == "renamed"
        integral = client.patch(f"/admin/v1/keys/{key['id']}", json={"rpm_limit": 60.0})
        assert integral.json()["rpm_limit"] == 60  # JSON's 60.0 is the integer 60
        assert_error(client.get("/admin/v1/keys/999999"), 404, "id")
        assert_error(client.post("/admin/v1/keys/999999/revoke"), 404, "id")
        assert_error(client.get("/admin/v1/keys/not-a-number"), 404)


def test_import_by_digest(callers: Callers) -> None:
    secret = "sk-legacy-gateway-key-0123456789"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with callers.admin as client:
        imported = client.post(
            "/admin/v1/keys/import",
            json={
                "name": "legacy",
                "sha256": digest.upper(),
                "prefix": "sk-legacy",
                "models": ["openai/*"],
            },
        )
        assert imported.status_code == 201, imported.text
        body = imported.json()
        assert "secret" not in body and body["prefix"] == "sk-legacy"
        again = client.post("/admin/v1/keys/import", json={"name": "twice", "sha256": digest})
        assert_error(again, 409, "sha256")
        assert_error(
            client.post("/admin/v1/keys/import", json={"name": "x", "sha256": "abc"}), 400, "sha256"
        )
    quantized_style = "sk-quantized-" + "m" * 43
    with callers.admin as client:
        client.post(
            "/admin/v1/keys/import",
            json={"name": "moved", "sha256": hashlib.sha256(quantized_style.encode()).hexdigest()},
        )
    assert works(callers, quantized_style).status_code == 200


def test_key_audit_never_holds_secrets(callers: Callers) -> None:
    with callers.admin as client:
        key = client.post("/admin/v1/keys", json={"name": "audited"}).json()
        client.post(f"/admin/v1/keys/{key['id']}/revoke")
        entries = client.get(
            "/admin/v1/audit", params={"entity": "key", "entity_id": key["id"]}
        ).json()["data"]
    assert [e["action"] for e in entries] == ["key.revoke", "key.create"]
    assert entries[0]["before"]["revoked_at"] is None
    assert entries[0]["after"]["revoked_at"] is not None
    text = str(entries)
    assert key["secret"] not in text and "digest" not in text
