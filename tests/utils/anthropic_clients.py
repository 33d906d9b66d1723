"""The official Anthropic SDK pointed at a gateway, and checks of what it streams."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
from pydantic import TypeAdapter

from tests.utils.stacks import Stack

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(anthropic.types.RawMessageStreamEvent)
MESSAGE: TypeAdapter[Any] = TypeAdapter(anthropic.types.Message)


def sdk(stack: Stack, key: str | None = None, *, bearer: bool = False) -> anthropic.Anthropic:
    """A client sending the key as ``x-api-key`` (``api_key=``) or as a bearer token."""
    token = key or stack.user_key
    credential = {"auth_token": token} if bearer else {"api_key": token}
    return anthropic.Anthropic(base_url=stack.gateway.url, max_retries=0, **credential)


def async_sdk(stack: Stack) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=stack.gateway.url, api_key=stack.user_key, max_retries=0
    )


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of each server-sent event, each data validated strictly
    against the SDK's own stream event types (but ``ping`` and ``error``, which it has none for)."""
    found = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.splitlines()
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads("\n".join(line[6:] for line in lines if line.startswith("data: ")))
        assert data["type"] == name
        if name not in ("error", "ping"):
            STREAM_EVENT.validate_python(data, strict=True)
        found.append((name, data))
    return found


def post_stream(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.post(
            f"{stack.gateway.url}/v1/messages?beta=true",
            json={**body, "stream": True},
            headers={"x-api-key": stack.user_key, "anthropic-version": "2023-06-01"},
        )
