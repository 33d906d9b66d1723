"""The gateway's upstream client, opened and closed around a test's work on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quantized.gateway.client import Headers, UpstreamClient


@asynccontextmanager
async def open_client(**options: Any) -> AsyncIterator[UpstreamClient]:
    """An :class:`UpstreamClient`, closed at the end (its connections too, before the loop)."""
    client = UpstreamClient(**options)
    try:
        yield client
    finally:
        client.close()
        for _ in range(3):  # let the transports finish closing while this loop runs
            await asyncio.sleep(0)


async def fetch(
    url: str, body: bytes = b"{}", headers: Headers | None = None, **options: Any
) -> bytes:
    """One POST with a fresh client; the body of a 200 answer."""
    async with open_client(**options) as client:
        response = await client.post(url, headers or [], body)
        assert response.status == 200
        return await response.read()
