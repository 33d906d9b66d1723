"""A real OIDC identity provider for tests: an HTTP server on a free port serving a
discovery document and a JWKS, with keys generated here and tokens signed by them; and,
for the console's sign-in, an authorization endpoint that approves at once and a token
endpoint for the authorization code flow with PKCE (S256)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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


@dataclass
class Grant:
    """An authorization code handed out by the authorization endpoint, not yet redeemed."""

    client_id: str
    redirect_uri: str
    challenge: str
    subject: str


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of ``verifier`` (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


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
    """``/.well-known/openid-configuration`` and ``/jwks`` over real HTTP, and the
    authorization code flow with PKCE: ``/authorize`` approves every request at once for
    :attr:`subject` (redirecting back with a code and the state), ``/token`` redeems a code
    once, for the client and redirect URI it was issued to, and only with the code verifier
    whose S256 challenge came with it. The discovery, JWKS and token answers carry
    ``Access-Control-Allow-Origin: *``: browsers call them from another origin."""

    def __init__(self, *algorithms: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [new_key(f"{a.lower()}-1", a) for a in algorithms or ("RS256",)]
        self.jwks_requests = 0
        self.last_jwks_request = 0.0
        """``time.monotonic()`` of the last JWKS request."""
        self.subject = "alice@example.com"
        """Whom ``/authorize`` signs in."""
        self.grants: dict[str, Grant] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_url,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [k.algorithm for k in self.keys],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where ``/authorize`` sends the browser: back to ``redirect_uri`` with a code and
        the state (or an error, as RFC 6749 says, for a request it cannot serve)."""
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            raise ValueError("redirect_uri must be an absolute http(s) URL")
        answer: dict[str, str]
        if query.get("response_type") != "code":
            answer = {"error": "unsupported_response_type"}
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            answer = {"error": "invalid_request", "error_description": "PKCE S256 is required"}
        elif not query.get("client_id"):
            answer = {"error": "invalid_request", "error_description": "client_id is missing"}
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                query["client_id"], redirect_uri, query["code_challenge"], self.subject
            )
            answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return f"{redirect_uri}{separator}{urlencode(answer)}"

    def redeem(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's status and answer for a form-encoded request."""
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        grant = self.grants.pop(form.get("code", ""), None)  # a code is good once
        if grant is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if form.get("client_id") != grant.client_id:
            return 400, {"error": "invalid_grant", "error_description": "another client's code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if s256(form.get("code_verifier", "")) != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "code_verifier is wrong"}
        token = self.token(sub=grant.subject)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 600}

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
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    body = provider.discovery()
                elif path == "/jwks":
                    provider.jwks_requests += 1
                    provider.last_jwks_request = time.monotonic()
                    body = {"keys": [k.jwk() for k in provider.keys]}
                elif path == "/authorize":
                    fields = {k: v[0] for k, v in parse_qs(query).items()}
                    try:
                        location = provider.authorize(fields)
                    except ValueError as error:
                        self.send_error(400, str(error))
                        return
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                else:
                    self.send_error(404)
                    return
                self._json(200, body)

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/token":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                self._json(*provider.redeem({k: v[0] for k, v in form.items()}))

            def do_OPTIONS(self) -> None:  # noqa: N802 - a CORS preflight
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "GET, POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "no-store")
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
