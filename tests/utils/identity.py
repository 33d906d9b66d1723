"""A real OIDC identity provider for tests: an HTTP server on a free port serving a
discovery document and a JWKS, with keys generated here and tokens signed by them."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.utils.processes import free_port

AUDIENCE = "quantized"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    def jwk(self) -> dict[str, Any]:
        exporter = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}
        data: dict[str, Any] = exporter[self.algorithm].to_jwk(self.public, as_dict=True)
        data.update(kid=self.kid, use="sig", alg=self.algorithm)
        return data

    def public_pem(self) -> bytes:
        return self.public.public_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_key(kid: str, algorithm: str = "RS256") -> SigningKey:
    if algorithm == "RS256":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(algorithm)
    return SigningKey(kid, algorithm, private)


def sign(
    key: SigningKey | bytes | str,
    claims: dict[str, Any],
    *,
    algorithm: str | None = None,
    headers: dict[str, Any] | None = None,
) -> str:
    if isinstance(key, SigningKey):
        merged = {"kid": key.kid, **(headers or {})}
        return jwt.encode(claims, key.private, algorithm=algorithm or key.algorithm, headers=merged)
    return jwt.encode(claims, key, algorithm=algorithm or "HS256", headers=headers)


class IdentityProvider:
    """``/.well-known/openid-configuration`` and ``/jwks`` over real HTTP."""

    def __init__(self, *algorithms: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [new_key(f"{a.lower()}-1", a) for a in algorithms or ("RS256",)]
        self.jwks_requests = 0
        self.last_jwks_request = 0.0
        """``time.monotonic()`` of the last JWKS request."""
        self._server: ThreadingHTTPServer | None = None

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def key(self, algorithm: str = "RS256") -> SigningKey:
        return next(k for k in self.keys if k.algorithm == algorithm)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        data: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "alice@example.com",
            "iat": now,
            "exp": now + 600,
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    def quiet_for(self, seconds: float) -> bool:
        """Whether no JWKS request came in the last ``seconds`` (a gateway may fetch again)."""
        return time.monotonic() - self.last_jwks_request > seconds

    def token(self, algorithm: str = "RS256", **claims: Any) -> str:
        return sign(self.key(algorithm), self.claims(**claims))

    def start(self) -> IdentityProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.jwks_url}
                elif self.path == "/jwks":
                    provider.jwks_requests += 1
                    provider.last_jwks_request = time.monotonic()
                    body = {"keys": [k.jwk() for k in provider.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def write_issuers_file(path: Path, issuers: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"issuers": issuers}))
    return path
