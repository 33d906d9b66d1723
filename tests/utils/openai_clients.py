"""The official OpenAI SDK pointed at a gateway, and checks of what the Responses API streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
from openai import AsyncOpenAI, OpenAI
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tests.utils.stacks import Stack

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
RESPONSE: TypeAdapter[Any] = TypeAdapter(Response)


def sdk(stack: Stack, key: str | None = None) -> OpenAI:
    return OpenAI(api_key=key or stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)


def async_sdk(stack: Stack) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=stack.user_key, base_url=f"{stack.gateway.url}/v1", max_retries=0)


def sse_events(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) of each server-sent event."""
    found = []
    for block in text.split("\n\n"):
        name = data = None
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
        if data is not None:
            found.append((name, json.loads(data)))
    return found


def post_stream(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        return client.post(
            "/v1/responses",
            json={**body, "stream": True},
            headers={"Authorization": f"Bearer {stack.user_key}", "accept": "text/event-stream"},
        )


def checked_events(text: str) -> list[dict[str, Any]]:
    """The stream's events, each validated with the SDK's types: named as its type, numbered
    in order from 0."""
    events = sse_events(text)
    for number, (name, data) in enumerate(events):
        STREAM_EVENT.validate_python(data)
        assert name == data["type"]
        assert data["sequence_number"] == number
    return [data for _, data in events]
