"""/admin/v1/teams over HTTP: teams, their members, their keys, the audit log, the document."""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import httpx
import pytest

from tests.utils.callers import Callers, assert_error
from tests.utils.processes import wait_until

TEAM_FIELDS = {
    "object",
    "id",
    "name",
    "models",
    "created_at",
    "updated_at",
    "member_count",
    "key_count",
}
_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    """A team name no other test of this module (sharing the gateway) uses."""
    return f"{prefix}-{next(_numbers)}"


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/admin/v1/teams", json={"name": unique("team"), **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def audit(client: httpx.Client, entity: str, entity_id: int) -> list[dict[str, Any]]:
    response = client.get("/admin/v1/audit", params={"entity": entity, "entity_id": entity_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def answers(callers: Callers, secret: str) -> int:
    with callers.client(secret) as client:
        return client.get("/v1/models").status_code


def turned_away(callers: Callers, secret: str) -> bool:
    return answers(callers, secret) == 401


def test_create_get_list_and_change(callers: Callers) -> None:
    with callers.admin as client:
        name = unique("platform")
        created = client.post(
            "/admin/v1/teams", json={"name": f"  {name} ", "models": ["openai/*"]}
        )
        assert created.status_code == 201, created.text
        team = created.json()
        assert set(team) == TEAM_FIELDS | {"members", "key_ids"}
        assert (team["object"], team["name"], team["models"]) == ("team", name, ["openai/*"])
        assert (team["members"], team["key_ids"], team["member_count"]) == ([], [], 0)
        assert client.get(f"/admin/v1/teams/{team['id']}").json() == team
        listed = client.get("/admin/v1/teams").json()
        assert listed["object"] == "list"
        (row,) = [t for t in listed["data"] if t["id"] == team["id"]]
        assert set(row) == TEAM_FIELDS and row["key_count"] == 0

        renamed = client.patch(f"/admin/v1/teams/{team['id']}", json={"name": f"{name}-2"})
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["name"], renamed.json()["models"]) == (f"{name}-2", ["openai/*"])
        everything = client.patch(f"/admin/v1/teams/{team['id']}", json={"models": None})
        assert everything.json()["models"] is None
        assert everything.json()["updated_at"] >= team["updated_at"]
        unchanged = client.patch(f"/admin/v1/teams/{team['id']}", json={})
        assert unchanged.json() == everything.json()

        taken = client.post("/admin/v1/teams", json={"name": f"{name}-2"})
        assert_error(taken, 409, "name")
        assert taken.json()["error"]["code"] == "team_exists"
        other = create(client)
        clash = client.patch(f"/admin/v1/teams/{other['id']}", json={"name": f"{name}-2"})
        assert_error(clash, 409, "name")
        assert_error(client.patch(f"/admin/v1/teams/{other['id']}", json={"name": None}), 400)


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": "   "}, 400, "name"),
        ({"name": "a\u0007b"}, 400, "name"),
        ({"name": "x" * 201}, 400, "name"),
        ({"name": "1234"}, 400, "name"),
        ({"name": "x", "surprise": 1}, 400, "surprise"),
        ({"name": "x", "models": "openai/*"}, 400, "models"),
        ({"name": "x", "models": ["OpenAI/*"]}, 400, "models[0]"),
        ({"name": "x", "models": ["nobody/*"]}, 409, "models"),
        ({"name": 5}, 400, "name"),
    ],
)
def test_create_validation(
    callers: Callers, body: dict[str, object], status: int, param: str
) -> None:
    with callers.admin as client:
        before = client.get("/admin/v1/teams").json()["data"]
        assert_error(client.post("/admin/v1/teams", json=body), status, param)
        assert client.get("/admin/v1/teams").json()["data"] == before


@pytest.mark.parametrize("raw", ["0", "03", "x", "2147483648", "%C2%B2", "-1"])
def test_team_paths_name_nothing_but_ids(callers: Callers, raw: str) -> None:
    with callers.admin as client:
        for response in (
            client.get(f"/admin/v1/teams/{raw}"),
            client.patch(f"/admin/v1/teams/{raw}", json={"name": "n"}),
            client.delete(f"/admin/v1/teams/{raw}"),
            client.get(f"/admin/v1/teams/{raw}/members"),
        ):
            assert_error(response, 404)
            assert response.json()["error"]["code"] == "team_not_found"
        assert_error(client.put(f"/admin/v1/teams/{raw}/members/alice"), 404)
    with callers.admin as client:
        missing = client.get("/admin/v1/teams/2147483647")
        assert_error(missing, 404, "id")
        assert missing.json()["error"]["code"] == "team_not_found"
        assert_error(client.put("/admin/v1/teams/2147483647/members/alice"), 404, "id")
        assert_error(client.delete("/admin/v1/teams/1?revoke_keys=maybe"), 400, "revoke_keys")
        assert_error(client.get("/admin/v1/teams?colour=red"), 400, "colour")


def test_members(callers: Callers) -> None:
    with callers.admin as client:
        team = create(client)
        base = f"/admin/v1/teams/{team['id']}/members"
        added = client.put(f"{base}/alice@example.com")
        assert added.status_code == 201, added.text
        member = added.json()
        assert set(member) == {"object", "team_id", "person", "added_at"}
        assert (member["object"], member["team_id"]) == ("team.member", team["id"])
        again = client.put(f"{base}/alice@example.com")
        assert again.status_code == 200 and again.json() == member  # idempotent
        slashed = client.put(f"{base}/auth0|org/42")  # subjects may hold slashes
        assert slashed.status_code == 201 and slashed.json()["person"] == "auth0|org/42"
        listed = client.get(base).json()
        assert [m["person"] for m in listed["data"]] == ["alice@example.com", "auth0|org/42"]
        shown = client.get(f"/admin/v1/teams/{team['id']}").json()
        assert shown["members"] == ["alice@example.com", "auth0|org/42"]
        assert shown["member_count"] == 2

        removed = client.delete(f"{base}/auth0|org/42")
        assert removed.status_code == 200, removed.text
        assert removed.json() == {
            "object": "team.member",
            "team_id": team["id"],
            "person": "auth0|org/42",
            "deleted": True,
        }
        gone = client.delete(f"{base}/auth0|org/42")
        assert_error(gone, 404, "person")
        assert gone.json()["error"]["code"] == "member_not_found"
        assert_error(client.put(f"{base}/a%0Ab"), 404)  # no route matches a control character
        assert_error(client.put(f"{base}/a%7Fb"), 404, "person")
        assert_error(client.put(f"{base}/{'x' * 201}"), 404, "person")
        assert [m["person"] for m in client.get(base).json()["data"]] == ["alice@example.com"]


def test_every_change_is_audited(callers: Callers) -> None:
    with callers.admin as client:
        team = create(client, models=["openai/*"])
        client.patch(f"/admin/v1/teams/{team['id']}", json={"models": ["anthropic/*"]})
        client.put(f"/admin/v1/teams/{team['id']}/members/bob")
        client.put(f"/admin/v1/teams/{team['id']}/members/bob")  # no change, no entry
        client.delete(f"/admin/v1/teams/{team['id']}/members/bob")
        assert client.delete(f"/admin/v1/teams/{team['id']}").status_code == 200
        entries = audit(client, "team", team["id"])
    assert [e["action"] for e in entries] == [
        "team.delete",
        "team.remove_member",
        "team.add_member",
        "team.update",
        "team.create",
    ]
    assert all(e["entity"] == "team" and e["entity_id"] == str(team["id"]) for e in entries)
    delete, remove, add, update, create_ = entries
    assert create_["before"] is None and create_["after"]["models"] == ["openai/*"]
    assert (update["before"]["models"], update["after"]["models"]) == (
        ["openai/*"],
        ["anthropic/*"],
    )
    assert add["before"] is None and add["after"]["person"] == "bob"
    assert remove["before"]["person"] == "bob" and remove["after"] is None
    assert delete["before"]["name"] == team["name"] and delete["after"] is None
    assert delete["actor"]["kind"] == "key"


def test_keys_belong_to_teams_and_people(callers: Callers) -> None:
    with callers.admin as client:
        team = create(client)
        made = client.post(
            "/admin/v1/keys", json={"name": "svc", "team_id": team["id"], "person": "carol"}
        )
        assert made.status_code == 201, made.text
        key = made.json()
        assert (key["team_id"], key["person"]) == (team["id"], "carol")
        assert client.get(f"/admin/v1/keys/{key['id']}").json()["team_id"] == team["id"]
        shown = client.get(f"/admin/v1/teams/{team['id']}").json()
        assert (shown["key_ids"], shown["key_count"]) == ([key["id"]], 1)

        unknown = client.post("/admin/v1/keys", json={"name": "x", "team_id": 2147483647})
        assert_error(unknown, 404, "team_id")
        assert unknown.json()["error"]["code"] == "team_not_found"
        for bad in ({"team_id": 0}, {"team_id": "1"}, {"person": ""}, {"person": "a\nb"}):
            assert_error(client.post("/admin/v1/keys", json={"name": "x", **bad}), 400)
        assert_error(
            client.patch(f"/admin/v1/keys/{key['id']}", json={"team_id": 2147483647}),
            404,
            "team_id",
        )
        moved = client.patch(f"/admin/v1/keys/{key['id']}", json={"team_id": None, "person": None})
        assert (moved.json()["team_id"], moved.json()["person"]) == (None, None)
        assert client.get(f"/admin/v1/teams/{team['id']}").json()["key_ids"] == []
        (update, _) = audit(client, "key", key["id"])[:2]
        assert update["action"] == "key.update"
        assert (update["before"]["team_id"], update["after"]["team_id"]) == (team["id"], None)


def test_delete_is_refused_while_keys_work_unless_they_are_revoked(callers: Callers) -> None:
    with callers.admin as client:
        team = create(client)
        made = [
            client.post("/admin/v1/keys", json={"name": f"k{i}", "team_id": team["id"]}).json()
            for i in range(3)
        ]
        client.post(f"/admin/v1/keys/{made[0]['id']}/revoke")
        for key in made[1:]:
            assert answers(callers, key["secret"]) == 200
        refused = client.delete(f"/admin/v1/teams/{team['id']}")
        assert_error(refused, 409, "revoke_keys")
        assert refused.json()["error"]["code"] == "team_has_keys"
        assert client.get(f"/admin/v1/teams/{team['id']}").status_code == 200

        deleted = client.delete(f"/admin/v1/teams/{team['id']}", params={"revoke_keys": "true"})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {
            "id": team["id"],
            "object": "team",
            "deleted": True,
            "revoked_key_ids": [made[1]["id"], made[2]["id"]],
        }
        for key in made[1:]:
            wait_until(partial(turned_away, callers, key["secret"]), timeout=5)
            stored = client.get(f"/admin/v1/keys/{key['id']}").json()
            assert stored["revoked_at"] is not None and stored["team_id"] is None
            (revoke, *_) = audit(client, "key", key["id"])
            assert revoke["action"] == "key.revoke"
            assert revoke["before"]["team_id"] == team["id"]
        assert client.get(f"/admin/v1/keys/{made[0]['id']}").json()["team_id"] is None
        assert_error(client.get(f"/admin/v1/teams/{team['id']}"), 404, "id")
        assert_error(client.delete(f"/admin/v1/teams/{team['id']}"), 404, "id")
        (entry, *_) = audit(client, "team", team["id"])
    assert entry["action"] == "team.delete"
    assert entry["before"]["key_ids"] == [made[1]["id"], made[2]["id"]]


def test_an_empty_team_is_deleted(callers: Callers) -> None:
    with callers.admin as client:
        team = create(client)
        client.put(f"/admin/v1/teams/{team['id']}/members/dave")
        deleted = client.delete(f"/admin/v1/teams/{team['id']}")
        assert deleted.status_code == 200 and deleted.json()["revoked_key_ids"] == []
        again = create(client, name=team["name"])  # the name is free again
        assert client.get(f"/admin/v1/teams/{again['id']}/members").json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/v1/teams", None),
        ("POST", "/admin/v1/teams", {"name": "t"}),
        ("GET", "/admin/v1/teams/1", None),
        ("PATCH", "/admin/v1/teams/1", {"name": "t"}),
        ("DELETE", "/admin/v1/teams/1", None),
        ("GET", "/admin/v1/teams/1/members", None),
        ("PUT", "/admin/v1/teams/1/members/eve", None),
        ("DELETE", "/admin/v1/teams/1/members/eve", None),
    ],
)
def test_non_admins_are_refused(callers: Callers, method: str, path: str, body: object) -> None:
    for credential in (callers.user_key, callers.user_jwt):
        with callers.client(credential) as client:
            response = client.request(method, path, json=body)
        assert_error(response, 403)
        assert response.json()["error"]["code"] == "admin_required"
    with httpx.Client(base_url=callers.gateway.url) as anonymous:
        assert_error(anonymous.request(method, path, json=body), 401)


def test_the_document_describes_teams(callers: Callers) -> None:
    document = httpx.get(f"{callers.gateway.url}/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/admin/v1/teams"]) == {"get", "post"}
    assert set(paths["/admin/v1/teams/{team_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/admin/v1/teams/{team_id}/members/{person}"]) == {"put", "delete"}
    schemas = document["components"]["schemas"]
    assert {"TeamCreate", "TeamChange", "TeamDetail", "TeamMember"} <= set(schemas)
    assert {"team_id", "person"} <= set(schemas["ApiKey"]["properties"])
    assert {"team_id", "person"} <= set(schemas["KeyCreate"]["properties"])
    deleting = paths["/admin/v1/teams/{team_id}"]["delete"]
    assert [p["name"] for p in deleting["parameters"] if p["in"] == "query"] == ["revoke_keys"]
    assert "409" in deleting["responses"]
