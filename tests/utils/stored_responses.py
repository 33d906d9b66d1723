"""Stored responses for tests: realistic ones, put straight into a gateway's database, and
the caller a key is to the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import httpx

from quantized.gateway.responses.stored import Caller, StoredResponse, ensure_ids, new_id
from quantized.store.database import create_engine
from quantized.store.responses import DatabaseResponses

HOUR = 3600.0


def stored_response(
    caller: Caller,
    response_id: str | None = None,
    *,
    items: Iterable[dict[str, Any]] = ({"role": "user", "content": "Say hello."},),
    text: str = "Hello!",
    **fields: Any,
) -> StoredResponse:
    """A completed response answering ``items`` with ``text`` (``fields`` added to it)."""
    response_id = response_id or new_id("resp")
    now = time.time()
    message = {
        "type": "message",
        "id": new_id("msg"),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    response = {
        "id": response_id,
        "object": "response",
        "created_at": int(now),
        "status": "completed",
        "model": "fake/gpt",
        "output": [message],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": True,
        "usage": {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11},
        **fields,
    }
    return StoredResponse(response_id, caller, now, "fake/gpt", response, ensure_ids(items), [])


def put_responses(database_url: str, *responses: StoredResponse, retention: float = HOUR) -> None:
    """Put responses into a (migrated) database, as the gateway keeps them."""

    async def put() -> None:
        engine = create_engine(database_url)
        try:
            store = DatabaseResponses(lambda: engine, retention)
            for response in responses:
                await store.put(response)
        finally:
            await engine.dispose()

    asyncio.run(put())


def caller_of(base_url: str, key: str) -> Caller:
    """The caller a key authenticates as (``GET /v1/usage`` names it)."""
    answer = httpx.get(f"{base_url}/v1/usage", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    caller = answer.json()["caller"]
    return caller["kind"], caller["id"]
