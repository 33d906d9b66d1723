"""Verify JWT bearer tokens against trusted issuers, and remember the ones that passed.

A verified token is cached by its SHA-256 digest until its ``exp`` (plus leeway),
in a bounded cache that forgets everything an issuer's key change could affect,
so a repeated token costs what an API key costs: one digest, one lookup.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import jwt
import orjson

from quantized.auth.jwt import claims as claim_rules
from quantized.auth.jwt.claims import invalid_token
from quantized.auth.jwt.config import ClaimRules, IssuerConfig
from quantized.auth.jwt.signing_keys import KeySource
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.errors import ServiceUnavailableError

log = logging.getLogger("quantized.jwt")


@dataclass(frozen=True, slots=True)
class Issuer:
    config: IssuerConfig
    rules: ClaimRules
    keys: KeySource
    algorithms: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires: float
    keys: KeySource
    version: int


def _iso(moment: float) -> str:
    return (
        dt.datetime.fromtimestamp(moment, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def _segment(part: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        raise invalid_token("Malformed token: not a JSON Web Token.") from None
    if not isinstance(value, dict):
        raise invalid_token("Malformed token: not a JSON Web Token.")
    return value


def _shown(value: object) -> str:
    text = str(value)
    return (
        text
        if len(text) <= 120 and text.isprintable()
        else text[:120].encode("ascii", "replace").decode() + "…"
    )


class JwtVerifier:
    """Tokens from configured issuers, verified with pyjwt, cached until they expire."""

    def __init__(self, issuers: list[Issuer], cache_size: int) -> None:
        self._issuers = issuers
        self._by_name = {i.config.issuer: i for i in issuers}
        self._cache: dict[bytes, _Verified] = {}
        self._cache_size = cache_size

    @property
    def issuers(self) -> list[Issuer]:
        return self._issuers

    def verify(self, token: bytes, now: float, *, may_refresh: bool = True) -> Principal:
        digest = hashlib.sha256(token).digest()
        hit = self._cache.get(digest)
        if hit is not None:
            if hit.expires > now and hit.keys.version == hit.version:
                return hit.principal
            del self._cache[digest]
        verified = self._verify(token, now, may_refresh)
        self._remember(digest, verified)
        return verified.principal

    def _issuer(self, claims: dict[str, Any]) -> Issuer:
        name = claims.get("iss")
        issuer = self._by_name.get(name) if isinstance(name, str) else None
        if issuer is None and len(self._issuers) == 1 and self._issuers[0].config.issuer is None:
            issuer = self._issuers[0]
        if issuer is None:
            if name is None:
                raise invalid_token("Invalid token: no 'iss' claim (issuer).")
            raise invalid_token(f"Invalid token: unknown issuer '{_shown(name)}'.")
        return issuer

    def _verify(self, token: bytes, now: float, may_refresh: bool) -> _Verified:
        head, body, _signature = token.split(b".")
        header, claims = _segment(head), _segment(body)
        issuer = self._issuer(claims)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise invalid_token("Invalid token: unsigned tokens (alg 'none') are not accepted.")
        if algorithm not in issuer.algorithms:
            raise invalid_token(
                f"Invalid token: algorithm '{_shown(algorithm)}' is not allowed for issuer "
                f"'{issuer.config.label}'."
            )
        kid = header.get("kid")
        kid = str(kid) if kid is not None else None
        keys = issuer.keys
        version = keys.version
        candidates = keys.current().candidates(kid, algorithm)
        if not candidates:
            if may_refresh and keys.may_refetch():
                raise RefreshRequired(keys)
            if not keys.current().keys:
                raise ServiceUnavailableError(
                    f"No signing keys are available for issuer '{issuer.config.label}' yet."
                )
            if kid is None:
                raise invalid_token("Invalid token: no key matches its algorithm.")
            raise invalid_token(f"Invalid token: unknown key id '{_shown(kid)}'.")
        payload = self._decode(token, issuer, algorithm, candidates[:5], claims, now)
        rules = issuer.rules
        subject = claim_rules.subject(payload, rules)
        principal = Principal(
            kind="jwt",
            id=subject,
            name=subject,
            access=claim_rules.access(payload, rules),
            is_admin=claim_rules.is_admin(payload, rules),
            person=subject,
            team_name=claim_rules.team(payload, rules),
        )
        expires = float(payload["exp"]) + issuer.config.leeway
        return _Verified(principal, expires, keys, version)

    def _decode(
        self,
        token: bytes,
        issuer: Issuer,
        algorithm: str,
        candidates: list[Any],
        claims: dict[str, Any],
        now: float,
    ) -> dict[str, Any]:
        config = issuer.config
        error: jwt.InvalidTokenError | None = None
        for candidate in candidates:
            try:
                payload: dict[str, Any] = jwt.decode(
                    token,
                    candidate.key,
                    algorithms=[algorithm],
                    audience=config.audience,
                    issuer=config.issuer,
                    leeway=config.leeway,
                    options={
                        "require": ["exp"],
                        "verify_aud": config.audience is not None,
                        "verify_iss": config.issuer is not None,
                    },
                )
                return payload
            except jwt.InvalidSignatureError as exc:
                error = exc
                continue
            except jwt.InvalidTokenError as exc:
                raise invalid_token(self._explain(exc, config, claims)) from None
        assert error is not None  # noqa: S101 - at least one candidate was tried
        raise invalid_token(self._explain(error, config, claims)) from None

    @staticmethod
    def _explain(exc: jwt.InvalidTokenError, config: IssuerConfig, claims: dict[str, Any]) -> str:
        if isinstance(exc, jwt.ExpiredSignatureError):
            return f"Invalid token: expired at {_iso(float(claims['exp']))}."
        if isinstance(exc, jwt.ImmatureSignatureError):
            if "iat" in str(exc):
                return f"Invalid token: issued in the future (iat {_iso(float(claims['iat']))})."
            return f"Invalid token: not valid before {_iso(float(claims['nbf']))}."
        if isinstance(exc, jwt.InvalidAudienceError):
            return f"Invalid token: audience mismatch (expected {config.audience!r})."
        if isinstance(exc, jwt.InvalidIssuerError):
            return f"Invalid token: issuer mismatch (expected '{config.label}')."
        if isinstance(exc, jwt.InvalidSignatureError):
            return "Invalid token: signature invalid."
        if isinstance(exc, jwt.MissingRequiredClaimError):
            return f"Invalid token: no '{exc.claim}' claim."
        if isinstance(exc, jwt.InvalidIssuedAtError):
            return "Invalid token: the 'iat' claim is not a number."
        if isinstance(exc, jwt.InvalidAlgorithmError):
            return "Invalid token: algorithm not allowed for this key."
        if isinstance(exc, jwt.DecodeError):
            return "Malformed token: it could not be decoded."
        return "Invalid token."

    def _remember(self, digest: bytes, verified: _Verified) -> None:
        if self._cache_size <= 0:
            return
        if len(self._cache) >= self._cache_size:
            del self._cache[next(iter(self._cache))]
        self._cache[digest] = verified

    async def start(self) -> None:
        for issuer in self._issuers:
            if issuer.config.audience is None:
                log.warning(
                    "JWT issuer %s has no audience configured: tokens it issues for any "
                    "service will be accepted",
                    issuer.config.label,
                )
            await issuer.keys.start()

    async def stop(self) -> None:
        for issuer in self._issuers:
            await issuer.keys.stop()


def build_verifier(
    configs: list[IssuerConfig],
    defaults: ClaimRules,
    client: Any,
    *,
    ttl: float,
    refetch_interval: float,
    cache_size: int,
) -> JwtVerifier:
    """A verifier for these issuers; remote key sets fetch through ``client`` (httpx)."""
    from quantized.auth.jwt.signing_keys import key_sources

    sources = key_sources(configs, client, ttl=ttl, refetch_interval=refetch_interval)
    issuers = [
        Issuer(
            config=config,
            rules=config.claim_rules(defaults),
            keys=source,
            algorithms=frozenset(config.allowed_algorithms()),
        )
        for config, source in zip(configs, sources, strict=True)
    ]
    return JwtVerifier(issuers, cache_size)
