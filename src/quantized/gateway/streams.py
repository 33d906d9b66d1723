"""What upstream calls and answers are made of: the call, the tokens used, server-sent events.

A :class:`StreamTranslator` turns an upstream's stream, as bytes arrive, into
the events the client's API expects, and keeps the usage the upstream reported.
It buffers at most ``MAX_EVENT_BYTES`` of an unfinished event: an upstream that
never ends an event cannot make the gateway hold an unbounded buffer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from quantized.errors import BadGatewayError

Headers = list[tuple[bytes, bytes]]
DONE = b"data: [DONE]\n\n"
MAX_EVENT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the upstream reported them (or, ``estimated``, as the gateway counted them).

    ``prompt_tokens`` counts every input token, including the ``cached_tokens`` read
    from a prompt cache and the ``cache_write_tokens`` written to one (which
    Anthropic bills at their own price).
    """

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False
    """Counted by the gateway: the upstream reported none (the ledger row says so)."""


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """The HTTP request that asks an upstream for an answer."""

    url: str
    headers: Headers
    body: bytes


def invalid_response(what: str) -> BadGatewayError:
    """An upstream answer the gateway cannot read (not JSON, truncated, the wrong shape)."""
    return BadGatewayError(
        f"The upstream sent an invalid response: {what}.", code="upstream_invalid_response"
    )


def sse_event(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def split_events(buffer: bytearray) -> Iterator[bytes]:
    """Complete server-sent events from ``buffer`` (removed from it), without separators."""
    while True:
        end = buffer.find(b"\n\n")
        skip = 2
        crlf = buffer.find(b"\r\n\r\n")
        if crlf != -1 and (end == -1 or crlf < end):
            end, skip = crlf, 4
        if end == -1:
            return
        event = bytes(buffer[:end])
        del buffer[: end + skip]
        yield event


def event_data(event: bytes) -> bytes | None:
    """The ``data:`` payload of one event (lines joined), or ``None`` if it has none."""
    lines = [line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


def event_name(event: bytes) -> bytes | None:
    for line in event.splitlines():
        if line.startswith(b"event:"):
            return line[6:].strip()
    return None


def json_event(payload: bytes) -> dict[str, Any]:
    """One event's JSON object, or ``upstream_invalid_response``."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise invalid_response("a streamed event is not JSON") from None
    if not isinstance(data, dict):
        raise invalid_response("a streamed event is not a JSON object")
    return data


class StreamTranslator(ABC):
    """Turns upstream stream bytes into the client's events, keeping the reported usage."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.chunks = 0
        """Content-bearing chunks sent so far: an estimate of completion tokens."""
        self.error_code: str | None = None
        """Set when the upstream ended the stream with an error event the client was sent."""
        self.sequence = 0
        """The number of the next event, for APIs that number their events (Responses)."""
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Events (each ending in a blank line) to send to the client."""
        self._buffer += data
        out: list[bytes] = []
        for event in split_events(self._buffer):
            out.extend(self.translate(event))
        if len(self._buffer) > MAX_EVENT_BYTES:
            raise invalid_response(f"a streamed event is longer than {MAX_EVENT_BYTES} bytes")
        return out

    @abstractmethod
    def translate(self, event: bytes) -> list[bytes]:
        """The client events for one upstream event."""

    def finish(self) -> list[bytes]:
        """Whatever remains to send once the upstream stream ended, then ``[DONE]``."""
        return [DONE]
