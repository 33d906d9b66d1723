"""The web console's pages and assets: ``/`` (to the models page), ``/ui/…``.

Every page is the same shell (``index.html``); its JavaScript modules route by path
and call the public and admin APIs with the caller's bearer token, kept in the
browser tab's session storage. Nothing here reads a credential: the console's pages
are public, and the APIs they call decide what the caller may see and do.

Assets come from the package (``quantized/console/static``), never from a third
party, under a Content-Security-Policy that allows scripts, styles and connections
to this origin only (and the identity provider's, for OpenID Connect sign-in).
These routes are not on the models routes' fast path.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath
from typing import Any

import orjson

from quantized.api.asgi import Receive, Scope, Send, send_reply
from quantized.errors import MethodNotAllowedError, NotFoundError
from quantized.settings import Settings

PREFIX = "/ui"
ASSETS = "/ui/assets/"
TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".json": b"application/json",
}


def is_console_path(path: str) -> bool:
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


class Console:
    """The console's raw ASGI endpoint (behind the error boundary, like every route)."""

    def __init__(self, settings: Settings) -> None:
        self._files = _load(resources.files("quantized.console") / "static")
        """Every asset by its path under ``static/``, read once: a request names one exactly
        or gets a 404 (nothing per request touches the file system)."""
        self._config = orjson.dumps({"oidc": oidc_config(settings)})
        sources = " ".join(("'self'", *settings.console_oidc_origins()))
        self._headers: list[tuple[bytes, bytes]] = [
            (
                b"content-security-policy",
                (
                    "default-src 'none'; script-src 'self'; style-src 'self'; "
                    f"img-src 'self' data:; connect-src {sources}; font-src 'self'; "
                    f"form-action {sources}; base-uri 'none'; frame-ancestors 'none'"
                ).encode(),
            ),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-cache"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            raise MethodNotAllowedError(f"Use GET for {path[:200]}.", allow=("GET", "HEAD"))
        if path == "/":
            await self._reply(send, scope, 307, [(b"location", b"/ui/models")], b"")
            return
        if path == PREFIX + "/config.json":
            await self._reply(send, scope, 200, [(b"content-type", TYPES[".json"])], self._config)
            return
        name = path[len(ASSETS) :] if path.startswith(ASSETS) else "index.html"
        found = self._files.get(name)
        if found is None:
            raise NotFoundError(f"No such console file: {path[:200]}", code="unknown_path")
        body, kind = found
        await self._reply(send, scope, 200, [(b"content-type", kind)], body)

    async def _reply(
        self, send: Send, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        headers = [*headers, (b"content-length", b"%d" % len(body)), *self._headers]
        await send_reply(send, (status, headers, b"" if scope["method"] == "HEAD" else body))


def _load(root: Traversable, prefix: str = "") -> dict[str, tuple[bytes, bytes]]:
    """The assets under ``root`` with a known type, by relative path."""
    found: dict[str, tuple[bytes, bytes]] = {}
    for entry in root.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_load(entry, f"{name}/"))
        elif (kind := TYPES.get(PurePosixPath(entry.name).suffix)) is not None:
            found[name] = (entry.read_bytes(), kind)
    return found


def oidc_config(settings: Settings) -> dict[str, Any] | None:
    """What the sign-in page needs for OpenID Connect (authorization code with PKCE), or
    ``None`` when no client id is configured."""
    if not settings.console_oidc_client_id or not settings.jwt_issuer:
        return None
    return {
        "issuer": settings.jwt_issuer,
        "client_id": settings.console_oidc_client_id,
        "scope": settings.console_oidc_scope,
    }
