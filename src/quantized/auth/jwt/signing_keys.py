"""Signing keys: from an HMAC secret, a PEM/JWK file, or a JWKS endpoint kept fresh.

A remote source behaves like a production JWKS client: keys are cached for a TTL
and refreshed in the background; a token naming an unseen ``kid`` may trigger a
fetch, but at most one per ``refetch_interval`` (concurrent callers share it), so
garbage tokens cannot cause a fetch storm; when the endpoint is down the last good
keys keep working; rotation (a new kid appears, an old one goes) needs no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from quantized.auth.jwt.config import (
    HMAC_ALGORITHMS,
    OKP_ALGORITHMS,
    RSA_ALGORITHMS,
    IssuerConfig,
)
from quantized.errors import ConfigurationError

log = logging.getLogger("quantized.jwt")

_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str | None
    key: Any
    algorithms: frozenset[str]


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: tuple[SigningKey, ...] = ()

    def candidates(self, kid: str | None, algorithm: str) -> list[SigningKey]:
        """Keys that may have signed a token with this ``kid`` and ``alg``.

        A key without a kid (a PEM file, a secret) is a candidate whatever the token names.
        """
        return [
            k
            for k in self.keys
            if algorithm in k.algorithms and (kid is None or k.kid is None or k.kid == kid)
        ]

    @property
    def kids(self) -> frozenset[str | None]:
        return frozenset(k.kid for k in self.keys)


def algorithms_for(key: Any, declared: str | None = None) -> frozenset[str]:
    """The algorithms a public key can verify (narrowed to the JWK's ``alg`` if it has one)."""
    if isinstance(key, rsa.RSAPublicKey):
        found: tuple[str, ...] = RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        found = (_CURVES[key.curve.name],) if key.curve.name in _CURVES else ()
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        found = OKP_ALGORITHMS
    else:
        found = ()
    if declared is not None:
        found = tuple(a for a in found if a == declared)
    return frozenset(found)


def keys_from_jwks(document: Any) -> KeySet:
    """Public signing keys of a JWKS (or single JWK) document; others are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if entries is None:
        entries = [document] if isinstance(document, dict) and "kty" in document else []
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "oct" or "d" in entry:  # secrets never come from key sets
            continue
        try:
            key = PyJWK(entry).key
        except (PyJWKError, ValueError, TypeError, KeyError):
            log.warning("skipping an unusable JWK (kid %r)", entry.get("kid"))
            continue
        algorithms = algorithms_for(key, entry.get("alg"))
        if algorithms:
            kid = entry.get("kid")
            keys.append(SigningKey(str(kid) if kid is not None else None, key, algorithms))
    return KeySet(tuple(keys))


def keys_from_file(path: Path) -> KeySet:
    """A PEM public key or certificate, or a JWK/JWKS JSON document."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read JWT public key file {path}: {exc.strerror}"
        ) from None
    text = data.strip()
    if text.startswith(b"{"):
        try:
            keys = keys_from_jwks(json.loads(text))
        except ValueError:
            raise ConfigurationError(f"{path} is not valid JSON") from None
    elif b"PRIVATE KEY" in text:
        raise ConfigurationError(f"{path} holds a private key; give the issuer's public key")
    else:
        try:
            if b"BEGIN CERTIFICATE" in text:
                key: Any = x509.load_pem_x509_certificate(text).public_key()
            else:
                key = load_pem_public_key(text)
        except ValueError:
            raise ConfigurationError(f"{path} is not a PEM public key or certificate") from None
        keys = KeySet((SigningKey(None, key, algorithms_for(key)),))
    if not any(k.algorithms for k in keys.keys):
        raise ConfigurationError(f"{path} holds no usable public signing key")
    return keys


class KeySource:
    """Where one issuer's keys come from. ``version`` changes whenever the keys do."""

    version = 0

    def current(self) -> KeySet:
        raise NotImplementedError

    def may_refetch(self) -> bool:
        """Whether a token with an unseen kid may trigger a fetch now."""
        return False

    async def refetch(self) -> None:
        """Fetch now (for an unseen kid); a static source has nothing to fetch."""

    async def start(self) -> None:
        """Begin keeping keys fresh."""

    async def stop(self) -> None:
        """Stop background work."""


@dataclass
class StaticKeys(KeySource):
    keys: KeySet

    def current(self) -> KeySet:
        return self.keys


def static_source(config: IssuerConfig) -> StaticKeys:
    if config.secret is not None:
        secret = config.secret.get_secret_value().encode()
        return StaticKeys(KeySet((SigningKey(None, secret, frozenset(HMAC_ALGORITHMS)),)))
    assert config.public_key_file is not None  # noqa: S101 - caller checked
    return StaticKeys(keys_from_file(config.public_key_file))


@dataclass
class RemoteKeys(KeySource):
    """A JWKS endpoint (given, or found through OIDC discovery)."""

    client: httpx.AsyncClient
    issuer: str | None
    jwks_url: str | None
    ttl: float
    refetch_interval: float
    _keys: KeySet = field(default_factory=KeySet)
    _last_attempt: float = float("-inf")
    _inflight: asyncio.Task[None] | None = None
    _loop_task: asyncio.Task[None] | None = None

    def current(self) -> KeySet:
        return self._keys

    def may_refetch(self) -> bool:
        waited = time.monotonic() - self._last_attempt
        return self._inflight is not None or waited >= self.refetch_interval

    async def refetch(self) -> None:
        if self._inflight is None:
            if time.monotonic() - self._last_attempt < self.refetch_interval:
                return
            self._inflight = asyncio.create_task(self._fetch())
        task = self._inflight
        with contextlib.suppress(Exception):
            await asyncio.shield(task)

    async def _fetch(self) -> None:
        self._last_attempt = time.monotonic()
        try:
            url = self.jwks_url or await self._discover()
            response = await self.client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = keys_from_jwks(response.json())
            if not keys.keys:
                raise ValueError("the key set holds no usable signing keys")
            if keys.kids != self._keys.kids or keys != self._keys:
                self._keys = keys
                self.version += 1
                log.info("JWKS for %s: %d keys", self.issuer or url, len(keys.keys))
        except (httpx.HTTPError, ValueError) as exc:
            held = len(self._keys.keys)
            log.warning(
                "could not fetch JWKS for %s (%s); keeping %d known keys",
                self.issuer or self.jwks_url,
                type(exc).__name__,
                held,
            )
        finally:
            self._inflight = None

    async def _discover(self) -> str:
        assert self.issuer is not None  # noqa: S101 - config guarantees it
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = await self.client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        jwks_uri = response.json().get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError("discovery document has no jwks_uri")
        self.jwks_url = jwks_uri
        return jwks_uri

    async def start(self) -> None:
        self._last_attempt = float("-inf")
        self._inflight = asyncio.create_task(self._fetch())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._inflight), timeout=5)
        self._loop_task = asyncio.create_task(self._keep_fresh())

    async def _keep_fresh(self) -> None:
        while True:
            # Retry soon while we have no keys; otherwise refresh every TTL.
            await asyncio.sleep(self.ttl if self._keys.keys else min(self.ttl, 5.0))
            self._last_attempt = float("-inf")
            await self.refetch()

    async def stop(self) -> None:
        for task in (self._loop_task, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def key_sources(
    configs: Iterable[IssuerConfig],
    client: httpx.AsyncClient,
    *,
    ttl: float,
    refetch_interval: float,
) -> list[KeySource]:
    sources: list[KeySource] = []
    for config in configs:
        if config.secret is not None or config.public_key_file is not None:
            sources.append(static_source(config))
        else:
            sources.append(
                RemoteKeys(
                    client=client,
                    issuer=config.issuer,
                    jwks_url=config.jwks_url,
                    ttl=ttl,
                    refetch_interval=refetch_interval,
                )
            )
    return sources
