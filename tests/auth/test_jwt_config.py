"""Issuer configuration and claim mapping, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from quantized.auth.jwt.claims import access, claim, is_admin, subject
from quantized.auth.jwt.config import ClaimRules, IssuerConfig
from quantized.auth.jwt.signing_keys import keys_from_file, keys_from_jwks
from quantized.errors import AuthenticationError, ConfigurationError
from quantized.settings import Settings
from tests.utils.identity import new_key, write_issuers_file
from tests.utils.processes import quantized_env, run_cli

SECRET = "s" * 32


def test_one_key_source_only() -> None:
    with pytest.raises(ValidationError, match="choose one key source"):
        IssuerConfig(issuer="x", jwks_url="https://x/jwks", secret=SECRET)  # type: ignore[arg-type]


def test_discovery_needs_an_issuer_url() -> None:
    assert IssuerConfig(issuer="https://login.example.com").discovery
    with pytest.raises(ValidationError, match="needs a key source"):
        IssuerConfig(issuer="not-a-url")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"secret": SECRET, "algorithms": ["RS256"]}, "RS256 cannot be used with an HMAC secret"),
        (
            {"jwks_url": "https://x/jwks", "algorithms": ["HS256"]},
            "HS256 cannot be used with public",
        ),
        ({"secret": "short"}, "at least 32 bytes"),
        ({"jwks_url": "https://x/jwks", "algorithms": ["none"]}, "algorithms.0"),
    ],
)
def test_algorithms_must_fit_the_key_source(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        IssuerConfig(issuer="x", **fields)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_default_algorithms_follow_the_key_source() -> None:
    assert IssuerConfig(issuer="x", secret=SECRET).allowed_algorithms() == (
        "HS256",
        "HS384",
        "HS512",
    )  # type: ignore[arg-type]
    public = IssuerConfig(issuer="https://x").allowed_algorithms()
    assert "RS256" in public and "EdDSA" in public and not any(a.startswith("HS") for a in public)


def test_claim_rules_per_issuer_override_defaults() -> None:
    defaults = ClaimRules(models_claim="scope_models", default_models="none")
    rules = IssuerConfig(issuer="https://x", admin_claim="groups").claim_rules(defaults)
    assert (rules.models_claim, rules.admin_claim, rules.default_models) == (
        "scope_models",
        "groups",
        "none",
    )


def test_claims_map_to_a_caller() -> None:
    rules = ClaimRules(admin_claim="realm_access.roles")
    claims = {
        "sub": "bob",
        "models": "openai/* qwen/qwen3-max",
        "realm_access": {"roles": ["user", "quantized-admin"]},
    }
    assert subject(claims, rules) == "bob"
    assert access(claims, rules).patterns == ("openai/*", "qwen/qwen3-max")
    assert is_admin(claims, rules)
    assert not is_admin({"realm_access": {"roles": ["user"]}}, rules)
    assert not is_admin({}, rules)
    assert claim({"https://example.com/roles": ["a"]}, "https://example.com/roles") == ["a"]


def test_default_models_without_a_claim() -> None:
    assert access({}, ClaimRules()).unrestricted
    nothing = access({}, ClaimRules(default_models="none"))
    assert nothing.patterns == () and not nothing.allows("openai/gpt-4.1")


def test_bad_models_claims() -> None:
    for bad in (42, ["ok/*", 3], ["Bad Pattern"]):
        with pytest.raises(AuthenticationError):
            access({"models": bad}, ClaimRules())


def test_pem_jwk_and_jwks_files(tmp_path: Path) -> None:
    rsa, ec = new_key("r1", "RS256"), new_key("e1", "ES256")
    pem = tmp_path / "k.pem"
    pem.write_bytes(rsa.public_pem())
    assert "RS256" in keys_from_file(pem).keys[0].algorithms
    jwk = tmp_path / "k.jwk"
    jwk.write_text(__import__("json").dumps(ec.jwk()))
    assert keys_from_file(jwk).keys[0].algorithms == {"ES256"}
    jwks = keys_from_jwks({"keys": [rsa.jwk(), ec.jwk(), {"kty": "oct", "k": "c2VjcmV0"}]})
    assert [k.kid for k in jwks.keys] == ["r1", "e1"]  # symmetric keys never come from a key set


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n", "private key"),
        (b"not a key", "not a PEM public key"),
        (b'{"keys": []}', "no usable public signing key"),
    ],
)
def test_bad_key_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=message):
        keys_from_file(path)


def test_issuers_file_and_env_issuer_combine(tmp_path: Path) -> None:
    path = write_issuers_file(
        tmp_path / "issuers.json",
        [
            {"issuer": "https://a.example.com", "audience": "q"},
            {"issuer": "hmac", "secret": SECRET, "leeway": 5},
        ],
    )
    settings = Settings(jwt_issuer="https://b.example.com", jwt_issuers_file=path)
    issuers = settings.jwt_issuers()
    assert [i.issuer for i in issuers] == ["https://b.example.com", "https://a.example.com", "hmac"]
    assert [i.leeway for i in issuers] == [30.0, 30.0, 5.0]


def test_bad_issuers_file_is_a_one_line_cli_error(tmp_path: Path) -> None:
    path = write_issuers_file(tmp_path / "issuers.json", [{"issuer": "x", "secret": "short"}])
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}", QUANTIZED_JWT_ISSUERS_FILE=str(path))
    result = run_cli("serve", "--port", "0", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "at least 32 bytes" in lines[0]


def test_missing_public_key_file_is_a_one_line_cli_error(tmp_path: Path) -> None:
    env = quantized_env(
        f"sqlite:///{tmp_path / 'q.db'}",
        QUANTIZED_JWT_ISSUER="me",
        QUANTIZED_JWT_PUBLIC_KEY_FILE=str(tmp_path / "absent.pem"),
    )
    result = run_cli("serve", "--port", "0", env=env)
    assert result.returncode == 1
    missing = tmp_path / "absent.pem"
    expected = f"error: cannot read JWT public key file {missing}: No such file or directory"
    assert result.stderr.strip() == expected
