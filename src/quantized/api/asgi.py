"""The few raw ASGI pieces the fast-path routes share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from quantized.api.errors import Headers, render_error
from quantized.errors import QuantizedError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Reply = tuple[int, Headers, bytes]
"""Status, headers (content-length included) and body of a complete response."""

__all__ = ["ASGIApp", "Headers", "Receive", "Reply", "Scope", "Send", "error_reply", "send_reply"]


def error_reply(exc: QuantizedError) -> Reply:
    status, headers, body = render_error(exc)
    headers.append((b"content-length", b"%d" % len(body)))
    return status, headers, body


async def send_reply(send: Send, reply: Reply) -> None:
    status, headers, body = reply
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
