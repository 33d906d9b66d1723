"""Client input never reaches a 5xx: ids, numbers and text are checked before the store.

Each case was a 500 (or a 503 on PostgreSQL, or silently accepted) before; every one
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import httpx
import pytest

from tests.utils.callers import Callers, assert_error

DIGITS = "1" * 5000
NOT_IDS = [DIGITS, "%C2%B2", "%D9%A3", "0", "03", "2147483648", "9223372036854775808", "-1", "x"]


@pytest.mark.parametrize("raw", NOT_IDS)
def test_key_paths_name_nothing_but_ids(callers: Callers, raw: str) -> None:
    with callers.admin as client:
        for response in (
            client.get(f"/admin/v1/keys/{raw}"),
            client.patch(f"/admin/v1/keys/{raw}", json={"name": "n"}),
            client.post(f"/admin/v1/keys/{raw}/revoke"),
            client.put(f"/admin/v1/budgets/key/{raw}", json={"daily_usd": 1}),
            client.delete(f"/admin/v1/budgets/key/{raw}"),
        ):
            assert_error(response, 404)
            assert response.json()["error"]["code"] == "key_not_found"


def test_ids_are_checked_after_authentication(callers: Callers) -> None:
    with httpx.Client(base_url=callers.gateway.url) as anonymous:
        assert_error(anonymous.get(f"/admin/v1/keys/{DIGITS}"), 401)
    with callers.client(callers.user_key) as user:
        assert_error(user.post(f"/admin/v1/keys/{DIGITS}/revoke"), 403)


def test_the_largest_id_is_looked_up(callers: Callers) -> None:
    with callers.admin as client:
        response = client.get("/admin/v1/keys/2147483647")
        budget = client.put("/admin/v1/budgets/key/2147483647", json={"daily_usd": 1})
    assert_error(response, 404, "id")
    assert_error(budget, 404, "caller")


def test_trailing_slash_is_an_unknown_path_not_a_redirect(callers: Callers) -> None:
    with callers.admin as client:
        response = client.get("/admin/v1/keys/", follow_redirects=False)
        other_method = client.patch("/admin/v1/keys/import", json={})
    assert_error(response, 404)
    assert response.json()["error"]["code"] == "unknown_path"
    assert_error(other_method, 405)
    assert other_method.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=%C2%B2", "limit"),
        ("limit=1_0", "limit"),
        ("limit=%205", "limit"),
        (f"limit={DIGITS}", "limit"),
        ("limit=1001", "limit"),
        ("before=%C2%B9", "before"),
        (f"before={DIGITS}", "before"),
        ("before=4611686018427387904", "before"),
        ("before=2147483648", "before"),
        ("entity_id=%00", "entity_id"),
        ("actor=a%0Ab", "actor"),
        (f"entity_id={'x' * 201}", "entity_id"),
        ("limit=1&limit=2", "limit"),
        ("colour=red", "colour"),
    ],
)
def test_audit_parameters(callers: Callers, query: str, param: str) -> None:
    with callers.admin as client:
        assert_error(client.get(f"/admin/v1/audit?{query}"), 400, param)


def test_audit_accepts_the_whole_id_range(callers: Callers) -> None:
    with callers.admin as client:
        response = client.get("/admin/v1/audit?before=2147483647&limit=1000")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/v1/usage", "model=%00", "model"),
        ("/v1/usage", "start=20261101", "start"),
        ("/v1/usage", "end=2026-02-30", "end"),
        ("/admin/v1/usage", "model=a%00b", "model"),
        ("/admin/v1/usage", "caller=key:9223372036854775808", "caller"),
        ("/admin/v1/usage", "caller=key:%C2%B2", "caller"),
        ("/admin/v1/usage", "caller=key:03", "caller"),
        ("/admin/v1/usage", "caller=jwt:a%00b", "caller"),
    ],
)
def test_usage_parameters(callers: Callers, path: str, query: str, param: str) -> None:
    for credential in (callers.admin_key, callers.user_key):
        if path.startswith("/admin") and credential == callers.user_key:
            continue
        with callers.client(credential) as client:
            assert_error(client.get(f"{path}?{query}"), 400, param)


def test_usage_ranges_and_filters_that_match_nothing(callers: Callers) -> None:
    with callers.admin as client:
        empty = client.get("/admin/v1/usage?start=2026-02-01&end=2026-01-01&caller=key:2147483647")
        subject = client.get("/admin/v1/usage", params={"caller": "jwt:ops@example.com/é"})
    assert empty.status_code == 200 and empty.json()["data"] == []
    assert subject.status_code == 200, subject.text


@pytest.mark.parametrize(
    "path", ["/admin/v1/models/a%00/b", "/admin/v1/models/a/b%0A", "/admin/v1/models/A/b"]
)
def test_model_paths_name_nothing_but_model_ids(callers: Callers, path: str) -> None:
    with callers.admin as client:
        for method in ("GET", "DELETE"):
            response = client.request(method, path)
            assert_error(response, 404)
            assert response.json()["error"]["code"] == "model_not_found"
        too_long = client.get(f"/admin/v1/models/{'a' * 150}/{'b' * 60}")
    assert_error(too_long, 404)


def test_budget_subjects(callers: Callers) -> None:
    with callers.admin as client:
        control = client.put("/admin/v1/budgets/jwt/a%00b", json={"daily_usd": 1})
        too_much = client.put("/admin/v1/budgets/jwt/alice", json={"daily_usd": 1_000_001})
        as_text = client.put("/admin/v1/budgets/jwt/alice", json={"daily_usd": "5"})
        slash = client.put("/admin/v1/budgets/jwt/team%2Falice", json={"monthly_usd": 1_000_000})
        listed = client.get("/admin/v1/budgets").json()["data"]
        removed = client.delete("/admin/v1/budgets/jwt/team/alice")
    assert_error(control, 404, "subject")
    assert_error(too_much, 400, "daily_usd")
    assert_error(as_text, 400, "daily_usd")
    assert slash.status_code == 200, slash.text
    assert {"kind": "person", "id": "team/alice"} in [b["scope"] for b in listed]
    assert removed.json() == {"caller": {"kind": "jwt", "id": "team/alice"}, "deleted": True}


def test_budget_for_an_existing_key(callers: Callers) -> None:
    with callers.admin as client:
        key = client.post("/admin/v1/keys", json={"name": "budgeted"}).json()
        response = client.put(f"/admin/v1/budgets/key/{key['id']}", json={"daily_usd": 2.5})
        assert response.json() == {
            "caller": {"kind": "key", "id": str(key["id"])},
            "daily_usd": 2.5,
            "monthly_usd": None,
        }
        assert client.delete(f"/admin/v1/budgets/key/{key['id']}").status_code == 200


def test_unknown_query_parameters_are_named(callers: Callers) -> None:
    with callers.admin as client:
        for path in ("/admin/v1/keys", "/admin/v1/models", "/admin/v1/budgets", "/healthz"):
            assert_error(client.get(f"{path}?surprise=1"), 400, "surprise")
