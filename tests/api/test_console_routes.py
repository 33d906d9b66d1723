"""The console's routes answer client input with a clear 4xx, never a 5xx, and keep no
state per request (every asset is read once, at startup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from quantized.app import QuantizedApp
from tests.utils.inprocess import in_process

pytestmark = pytest.mark.anyio


async def raw_get(app: QuantizedApp, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as given, straight through the app."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
    }
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_odd_asset_paths_are_404s_and_cost_nothing(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        client = running.client
        known = await client.get("/ui/assets/js/app.js")
        assert known.status_code == 200
        assert known.headers["content-type"].startswith("text/javascript")
        csp = known.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        odd = [
            "/ui/assets/js/./app.js",
            "/ui/assets/./js/app.js",
            "/ui/assets/js//app.js",
            "/ui/assets/" + "a" * 300 + ".js",
            "/ui/assets/" + "a/" * 2100 + "x.js",
            "/ui/assets/../../settings.py",
            "/ui/assets/",
            "/ui/assets/js/app.py",
        ]
        for path in odd:  # sent as they are (an HTTP client would tidy some of them)
            status, body = await raw_get(running.app, path)
            assert status == 404, path
            assert orjson.loads(body)["error"]["code"] == "unknown_path"
        assert (await client.post("/ui/models")).status_code == 405
        head = await client.head("/ui/models")
        assert head.status_code == 200 and head.content == b""
        root = await client.get("/", follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/ui/models"
        files = running.app.console._files
        assert set(files) >= {"index.html", "js/app.js", "vendor/uPlot.iife.min.js"}
        assert not [name for name in files if "./" in name or "//" in name]
