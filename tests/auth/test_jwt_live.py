"""JWT bearer tokens against a real gateway process and a real JWKS/OIDC server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from tests.utils.identity import (
    AUDIENCE,
    IdentityProvider,
    new_key,
    sign,
    write_issuers_file,
)
from tests.utils.processes import Gateway, quantized_env, start_gateway, wait_until

HMAC_SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider("RS256", "ES256", "EdDSA").start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def pem_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    key = new_key("pem", "RS256")
    path = tmp_path_factory.mktemp("pem") / "issuer.pem"
    path.write_bytes(key.public_pem())
    return key, path


@pytest.fixture(scope="module")
def gateway(
    idp: IdentityProvider, pem_key: tuple[object, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("jwt-gateway")
    issuers = write_issuers_file(
        workdir / "issuers.json",
        [
            {
                "issuer": idp.issuer,
                "audience": AUDIENCE,
                "jwks_url": idp.jwks_url,
                "admin_claim": "realm_access.roles",
            },
            {"issuer": "hmac-issuer", "audience": AUDIENCE, "secret": HMAC_SECRET},
            {"issuer": "pem-issuer", "audience": AUDIENCE, "public_key_file": str(pem_key[1])},
        ],
    )
    env = quantized_env(
        f"sqlite:///{workdir / 'q.db'}",
        QUANTIZED_JWT_ISSUERS_FILE=str(issuers),
        QUANTIZED_JWT_JWKS_REFETCH_INTERVAL="2",
    )
    server = start_gateway(env, workdir)
    yield server
    server.stop()


def get(gateway: Gateway, token: str, path: str = "/v1/models") -> httpx.Response:
    return httpx.get(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {token}"})


def everything(gateway: Gateway) -> list[str]:
    assert gateway.admin_key
    return [m["id"] for m in get(gateway, gateway.admin_key).json()]


def assert_rejected(response: httpx.Response, fragment: str, token: str) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert fragment in error["message"], error["message"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(
        'Bearer realm="quantized", error="invalid_token", error_description="'
    )
    assert token not in response.text and token not in challenge
    for part in filter(None, token.split(".")[1:]):
        assert part not in response.text


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_jwks_signed_tokens_work(gateway: Gateway, idp: IdentityProvider, algorithm: str) -> None:
    response = get(gateway, idp.token(algorithm))
    assert response.status_code == 200, response.text
    assert [m["id"] for m in response.json()] == everything(gateway)


def test_hmac_token_works(gateway: Gateway, idp: IdentityProvider) -> None:
    token = sign(HMAC_SECRET, idp.claims(iss="hmac-issuer"))
    assert get(gateway, token).status_code == 200


def test_pem_file_issuer(
    gateway: Gateway, idp: IdentityProvider, pem_key: tuple[object, Path]
) -> None:
    key = pem_key[0]
    token = sign(key, idp.claims(iss="pem-issuer"))  # type: ignore[arg-type]
    assert get(gateway, token).status_code == 200


def test_expired(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600)
    assert_rejected(get(gateway, token), "expired at", token)


def test_expiry_within_leeway_is_accepted(gateway: Gateway, idp: IdentityProvider) -> None:
    assert get(gateway, idp.token(exp=int(time.time()) - 5)).status_code == 200


def test_not_yet_valid(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(nbf=int(time.time()) + 300)
    assert_rejected(get(gateway, token), "not valid before", token)


def test_issued_in_the_future(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(iat=int(time.time()) + 300)
    assert_rejected(get(gateway, token), "issued in the future", token)


def test_missing_exp(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(exp=None)
    assert_rejected(get(gateway, token), "no 'exp' claim", token)


def test_wrong_audience(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(aud="someone-else")
    assert_rejected(get(gateway, token), "audience mismatch", token)


def test_wrong_issuer(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(iss="https://evil.example.com")
    assert_rejected(get(gateway, token), "unknown issuer 'https://evil.example.com'", token)


def test_tampered_payload(gateway: Gateway, idp: IdentityProvider) -> None:
    honest = idp.token(models=["openai/gpt-4.1-nano"])
    forged_claims = sign(idp.key(), idp.claims(sub="root", roles=["quantized-admin"]))
    head, _, signature = honest.split(".")
    tampered = ".".join([head, forged_claims.split(".")[1], signature])
    assert_rejected(get(gateway, tampered), "signature invalid", tampered)


def test_alg_none(gateway: Gateway, idp: IdentityProvider) -> None:
    token = _unsigned(idp)
    assert_rejected(get(gateway, token), "alg 'none'", token)


def _unsigned(idp: IdentityProvider) -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(idp.claims())}."


def test_hmac_signed_with_the_rsa_public_key(gateway: Gateway, idp: IdentityProvider) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": "rs256-1", "typ": "JWT"}).encode())
    payload = b64(json.dumps(idp.claims()).encode())
    pem = idp.key("RS256").public_pem()
    signature = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    token = f"{header}.{payload}.{signature}"
    assert_rejected(get(gateway, token), "algorithm 'HS256' is not allowed", token)


def test_unknown_kid_refetches_at_most_once(gateway: Gateway, idp: IdentityProvider) -> None:
    stranger = new_key("never-published", "RS256")
    wait_until(lambda: idp.quiet_for(2.05), timeout=5)  # the refetch window of earlier tests
    before = idp.jwks_requests
    tokens = [sign(stranger, idp.claims(sub=f"garbage-{i}")) for i in range(30)]
    started = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda token: get(gateway, token), tokens))
    windows = 1 + int((time.monotonic() - started) // 2)  # the refetch interval is 2 s
    for token, response in zip(tokens, responses, strict=True):
        assert_rejected(response, "unknown key id 'never-published'", token)
    assert 1 <= idp.jwks_requests - before <= windows


def test_models_claim_restricts_listing_and_retrieve(
    gateway: Gateway, idp: IdentityProvider
) -> None:
    all_ids = everything(gateway)
    for claim in (["openai/*", "anthropic/claude-opus-*"], "openai/* anthropic/claude-opus-*"):
        token = idp.token(models=claim)
        visible = [m["id"] for m in get(gateway, token).json()]
        expected = [
            i for i in all_ids if i.startswith("openai/") or i.startswith("anthropic/claude-opus-")
        ]
        assert visible == expected and 0 < len(visible) < len(all_ids)
        for model_id in all_ids:
            status = get(gateway, token, f"/v1/models/{model_id}").status_code
            assert status == (200 if model_id in expected else 404), model_id


def test_models_claim_of_the_wrong_type(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(models=42)
    assert_rejected(get(gateway, token), "'models' claim must be a list of strings", token)


def test_missing_subject(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token(sub=None)
    assert_rejected(get(gateway, token), "no 'sub' claim", token)


def test_api_keys_keep_working_beside_jwts(gateway: Gateway) -> None:
    assert gateway.admin_key
    assert get(gateway, gateway.admin_key).status_code == 200
    response = get(gateway, "not-a-key-nor-a-jwt")
    assert response.status_code == 401
    assert "Unknown bearer token" in response.json()["error"]["message"]


def test_repeated_token_is_served_from_cache(gateway: Gateway, idp: IdentityProvider) -> None:
    token = idp.token()
    first = get(gateway, token)
    again = [get(gateway, token) for _ in range(5)]
    assert all(r.status_code == 200 and r.content == first.content for r in again)


@pytest.fixture
def discovery_gateway(idp: IdentityProvider, tmp_path: Path) -> Iterator[Gateway]:
    """Configured with two environment variables: issuer URL and audience (OIDC discovery)."""
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_JWT_ISSUER=idp.issuer,
        QUANTIZED_JWT_AUDIENCE=AUDIENCE,
    )
    server = start_gateway(env, tmp_path)
    yield server
    server.stop()


def test_openai_sdk_with_a_jwt_as_api_key(
    discovery_gateway: Gateway, idp: IdentityProvider
) -> None:
    client = OpenAI(api_key=idp.token(models=["openai/*"]), base_url=f"{discovery_gateway.url}/v1")
    ids = [m.id for m in client.models.list().data]
    assert ids and all(i.startswith("openai/") for i in ids)
    expired = OpenAI(
        api_key=idp.token(exp=int(time.time()) - 300), base_url=f"{discovery_gateway.url}/v1"
    )
    with pytest.raises(openai.AuthenticationError, match="expired at"):
        expired.models.list()


def test_three_env_vars(idp: IdentityProvider, tmp_path: Path) -> None:
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_JWT_ISSUER=idp.issuer,
        QUANTIZED_JWT_AUDIENCE=AUDIENCE,
        QUANTIZED_JWT_JWKS_URL=idp.jwks_url,
    )
    server = start_gateway(env, tmp_path)
    try:
        assert get(server, idp.token("ES256")).status_code == 200
    finally:
        server.stop()


def test_missing_audience_is_warned_about(idp: IdentityProvider, tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}", QUANTIZED_JWT_ISSUER=idp.issuer)
    server = start_gateway(env, tmp_path)
    try:
        assert "has no audience configured" in server.log()
        assert get(server, idp.token(aud="anything")).status_code == 200
    finally:
        server.stop()


def fast_refreshing_gateway(provider: IdentityProvider, tmp_path: Path) -> Gateway:
    """A gateway trusting ``provider`` with a 1 s key TTL and a 0.5 s refetch interval."""
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_JWT_ISSUER=provider.issuer,
        QUANTIZED_JWT_AUDIENCE=AUDIENCE,
        QUANTIZED_JWT_JWKS_URL=provider.jwks_url,
        QUANTIZED_JWT_JWKS_TTL="1",
        QUANTIZED_JWT_JWKS_REFETCH_INTERVAL="0.5",
    )
    return start_gateway(env, tmp_path)


def test_key_rotation_without_restart(tmp_path: Path) -> None:
    provider = IdentityProvider("RS256").start()
    server = fast_refreshing_gateway(provider, tmp_path)
    try:
        old = provider.keys[0]
        old_token = provider.token()
        assert get(server, old_token).status_code == 200
        new = new_key("rs256-2", "RS256")
        provider.keys.append(new)  # a new kid appears: the first token naming it triggers a fetch
        wait_until(lambda: provider.quiet_for(0.55), timeout=5)  # the refetch interval passed
        assert get(server, sign(new, provider.claims())).status_code == 200
        provider.keys.remove(old)  # the old kid goes: within a TTL its tokens stop working
        wait_until(lambda: get(server, old_token).status_code == 401, timeout=5)
        assert_rejected(get(server, sign(old, provider.claims())), "unknown key id", old_token)
        assert get(server, sign(new, provider.claims())).status_code == 200
    finally:
        server.stop()
        provider.stop()


def test_jwks_server_down_after_warm_up(tmp_path: Path) -> None:
    provider = IdentityProvider("RS256", "ES256").start()
    server = fast_refreshing_gateway(provider, tmp_path)
    try:
        assert get(server, provider.token()).status_code == 200
        provider.stop()
        wait_until(lambda: server.log().count("could not fetch JWKS") >= 2, timeout=10)
        for algorithm in ("RS256", "ES256"):  # fresh tokens, not cached: the known keys verify
            assert get(server, provider.token(algorithm, sub=f"new-{algorithm}")).status_code == 200
        stranger = sign(new_key("other", "RS256"), provider.claims())
        assert_rejected(get(server, stranger), "unknown key id", stranger)
        assert "could not fetch JWKS" in server.log()
    finally:
        server.stop()
