"""Every admin endpoint: admins (key or JWT) get in; everyone else gets 401 or 403."""

from __future__ import annotations

import pytest

from tests.utils.callers import Callers, assert_error

ENDPOINTS = [
    ("GET", "/admin/v1/models", None),
    (
        "POST",
        "/admin/v1/models",
        {"id": "t/x", "name": "x", "cost": {"prompt": 1, "completion": 1}},
    ),
    ("POST", "/admin/v1/models/import", {"version": 1, "models": []}),
    ("GET", "/admin/v1/models/openai/gpt-4.1", None),
    ("PUT", "/admin/v1/models/t/y", {"name": "y", "cost": {"prompt": 1, "completion": 1}}),
    ("PATCH", "/admin/v1/models/t/y", {"name": "z"}),
    ("DELETE", "/admin/v1/models/t/y", None),
    ("GET", "/admin/v1/keys", None),
    ("POST", "/admin/v1/keys", {"name": "k"}),
    ("POST", "/admin/v1/keys/import", {"name": "k", "sha256": "ab" * 32}),
    ("GET", "/admin/v1/keys/1", None),
    ("PATCH", "/admin/v1/keys/1", {"name": "k"}),
    ("POST", "/admin/v1/keys/999/revoke", None),
    ("GET", "/admin/v1/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_non_admins_are_refused(callers: Callers, method: str, path: str, body: object) -> None:
    for credential in (callers.user_key, callers.user_jwt):
        with callers.client(credential) as client:
            response = client.request(method, path, json=body)
        message = assert_error(response, 403)
        assert "admin" in message
        assert response.json()["error"]["code"] == "admin_required"
    with callers.client("sk-quantized-" + "z" * 43) as client:
        assert_error(client.request(method, path, json=body), 401)


@pytest.mark.parametrize("credential", ["admin_key", "admin_jwt"])
def test_admins_get_in(callers: Callers, credential: str) -> None:
    with callers.client(getattr(callers, credential)) as client:
        assert client.get("/admin/v1/models").status_code == 200
        assert client.get("/admin/v1/keys").status_code == 200
        assert client.get("/admin/v1/audit").status_code == 200


def test_a_jwt_admin_is_the_audited_actor(callers: Callers) -> None:
    with callers.client(callers.admin_jwt) as client:
        created = client.post("/admin/v1/keys", json={"name": "made-by-jwt"})
        assert created.status_code == 201
        key_id = created.json()["id"]
        entries = client.get("/admin/v1/audit", params={"entity": "key", "entity_id": key_id})
    (entry,) = entries.json()["data"]
    assert entry["actor"] == {"kind": "jwt", "id": "ops@example.com", "name": "ops@example.com"}
    assert entry["action"] == "key.create"


def test_wrong_methods_list_every_allowed_one(callers: Callers) -> None:
    response = callers.admin.delete("/admin/v1/models")
    assert_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
