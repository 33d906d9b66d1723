"""The app in this process, driven through ``httpx.ASGITransport``: fast API tests without a
server process (SQLite, the real app factory, the real lifespan)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from quantized.app import QuantizedApp, create_app
from quantized.services.bootstrap import prepare
from quantized.settings import load_settings
from quantized.store.database import create_engine

T = TypeVar("T")


async def until(probe: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll ``probe`` (without blocking the app's event loop) until it returns something."""
    async with asyncio.timeout(timeout):
        while True:
            value = await asyncio.to_thread(probe)
            if value:
                return value
            await asyncio.sleep(0.02)


@dataclass
class InProcess:
    app: QuantizedApp
    client: httpx.AsyncClient
    admin_key: str
    database_url: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}


@asynccontextmanager
async def in_process(workdir: Path, **settings: object) -> AsyncIterator[InProcess]:
    """A prepared SQLite database, the app running its lifespan, and a client for it."""
    url = f"sqlite:///{workdir / 'quantized.db'}"
    engine = create_engine(url)
    try:
        prepared = await prepare(engine, settings.pop("catalog_file", None))  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    admin_key = prepared.admin_key
    assert admin_key is not None, "use a fresh directory: the first start makes the admin key"
    app = create_app(load_settings(database_url=url, **settings))
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://quantized") as client:
            yield InProcess(app, client, admin_key, url)
