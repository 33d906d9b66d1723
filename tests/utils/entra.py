"""A fake Microsoft Entra ID authority: a real HTTPS server (a throwaway CA's certificate)
that azure-identity's client-secret credential talks to as it talks to Entra ID.

It serves the tenant's OpenID configuration and its token endpoint, which grants
client-credentials tokens (``entra-token-N``, valid ``expires_in`` seconds, settable)
to the one client it knows, for the Cognitive Services scope only, and counts them.
Each token it grants is added to ``accepting``: the fake Azure resource's set.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.utils.processes import free_port
from tests.utils.tls import ThrowawayCA

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
CLIENT_SECRET = "entra-client-secret-abcdef0123456789"
SCOPE = "https://cognitiveservices.azure.com/.default"


@dataclass
class FakeEntra:
    directory: Path
    accepting: set[str]
    expires_in: int = 3600
    issued: list[str] = field(default_factory=list)
    refused: int = 0
    port: int = field(default_factory=free_port)
    _server: ThreadingHTTPServer | None = None

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    def environment(self) -> dict[str, str]:
        """What a process needs to get tokens here (``REQUESTS_CA_BUNDLE``: trust its CA)."""
        return {
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": self.authority,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
        }

    def start(self) -> FakeEntra:
        fake = self
        ca = ThrowawayCA.create(self.directory)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:  # noqa: N802
                if self.path != f"/{TENANT}/v2.0/.well-known/openid-configuration":
                    self._json(404, {"error": "not_found"})
                    return
                base = f"{fake.authority}/{TENANT}"
                self._json(
                    200,
                    {
                        "issuer": f"{base}/v2.0",
                        "token_endpoint": f"{base}/oauth2/v2.0/token",
                        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                expected = {
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "scope": SCOPE,
                }
                if self.path != f"/{TENANT}/oauth2/v2.0/token" or any(
                    form.get(k) != v for k, v in expected.items()
                ):
                    fake.refused += 1
                    self._json(401, {"error": "invalid_client", "error_description": "no"})
                    return
                token = f"entra-token-{len(fake.issued) + 1}"
                fake.accepting.add(token)
                fake.issued.append(token)
                answer = {"token_type": "Bearer", "expires_in": fake.expires_in}
                self._json(
                    200, {**answer, "ext_expires_in": fake.expires_in, "access_token": token}
                )

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        context = ca.server_context("127.0.0.1")
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
