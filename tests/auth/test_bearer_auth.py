"""Authentication on the live server: every way a credential can be wrong gets a precise 401."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.utils.keys import Keys
from tests.utils.processes import Gateway, wait_until


def get(gateway: Gateway, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{gateway.url}{path}", headers=headers, timeout=5)


def assert_401(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "authentication_error"
    assert error["code"] == "invalid_api_key"
    assert fragment.lower() in error["message"].lower(), error["message"]


@pytest.mark.parametrize("path", ["/v1/models", "/v1/models/openai/gpt-4.1"])
def test_missing_header(gateway: Gateway, path: str) -> None:
    assert_401(get(gateway, path), "missing api key")


def test_basic_scheme(gateway: Gateway, keys: Keys) -> None:
    assert_401(get(gateway, "/v1/models", Authorization=f"Basic {keys.plain}"), "scheme 'Basic'")


def test_empty_bearer(gateway: Gateway) -> None:
    assert_401(get(gateway, "/v1/models", Authorization="Bearer"), "empty bearer")


def test_unknown_token_of_another_shape(gateway: Gateway) -> None:
    assert_401(get(gateway, "/v1/models", Authorization="Bearer not-a-key"), "unknown bearer token")


def test_jwt_without_issuers(gateway: Gateway) -> None:
    assert_401(get(gateway, "/v1/models", Authorization="Bearer aaa.bbb.ccc"), "no trusted issuer")


def test_unknown_key(gateway: Gateway, keys: Keys) -> None:
    forged = keys.plain[:-4] + ("AAAA" if not keys.plain.endswith("AAAA") else "BBBB")
    response = get(gateway, "/v1/models", Authorization=f"Bearer {forged}")
    assert_401(response, "incorrect api key")
    assert forged not in response.text


def test_bearer_scheme_is_case_insensitive(gateway: Gateway, keys: Keys) -> None:
    assert get(gateway, "/v1/models", Authorization=f"bearer {keys.plain}").status_code == 200


def test_revoked_key(gateway: Gateway, keys: Keys) -> None:
    def revoked_message() -> httpx.Response | None:
        response = get(gateway, "/v1/models", Authorization=f"Bearer {keys.revoked}")
        return response if "revoked" in response.text else None

    assert_401(wait_until(revoked_message, timeout=5), "revoked at")


def test_expired_key(gateway: Gateway, keys: Keys) -> None:
    assert_401(get(gateway, "/v1/models", Authorization=f"Bearer {keys.expired}"), "expired at")


def test_admin_key_lists_everything(gateway: Gateway, keys: Keys) -> None:
    admin = get(gateway, "/v1/models", Authorization=f"Bearer {keys.admin}").json()
    plain = get(gateway, "/v1/models", Authorization=f"Bearer {keys.plain}").json()
    assert admin == plain


def test_restricted_key_sees_only_its_models(gateway: Gateway, keys: Keys) -> None:
    everything = get(gateway, "/v1/models", Authorization=f"Bearer {keys.plain}").json()
    visible = get(gateway, "/v1/models", Authorization=f"Bearer {keys.restricted}").json()
    expected = [
        m["id"]
        for m in everything
        if m["id"].startswith("openai/") or m["id"].startswith("anthropic/claude-")
    ]
    assert [m["id"] for m in visible] == expected
    assert 0 < len(expected) < len(everything)
    # listing and retrieve never disagree
    for model in everything:
        response = get(
            gateway, f"/v1/models/{model['id']}", Authorization=f"Bearer {keys.restricted}"
        )
        assert response.status_code == (200 if model["id"] in expected else 404), model["id"]


def test_sdk_raises_authentication_error_with_readable_message(gateway: Gateway) -> None:
    client = OpenAI(api_key="sk-quantized-" + "x" * 43, base_url=f"{gateway.url}/v1")
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.status_code == 401
    assert "Incorrect API key provided" in str(caught.value)
