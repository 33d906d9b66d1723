"""What every upstream provider implements: build the call, read the answer.

A provider speaks one wire protocol. It turns an OpenAI-format chat request
into the upstream's request, and the upstream's answer (whole, or as a stream)
back into OpenAI's format, reporting the tokens used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.client import Headers
from quantized.gateway.request import ChatRequest

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the upstream reported them (``prompt_tokens`` includes ``cached_tokens``)."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    url: str
    headers: Headers
    body: bytes


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


class StreamTranslator(ABC):
    """Turns upstream stream bytes into OpenAI ``chat.completion.chunk`` events."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.chunks = 0
        """Content-bearing chunks sent so far: an estimate of completion tokens."""
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Events (each ending in a blank line) to send to the client."""
        self._buffer += data
        out: list[bytes] = []
        for event in split_events(self._buffer):
            out.extend(self.translate(event))
        return out

    @abstractmethod
    def translate(self, event: bytes) -> list[bytes]:
        """The client events for one upstream event."""

    def finish(self) -> list[bytes]:
        """Whatever remains to send once the upstream stream ended, then ``[DONE]``."""
        return [DONE]


def error_message(body: bytes) -> str:
    """The human message of an upstream error body (OpenAI or Anthropic shape, or text)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or "no details"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:1000]
        if isinstance(error, str):
            return error[:1000]
    return body.decode("utf-8", "replace")[:500]


class Provider(ABC):
    """One upstream wire protocol."""

    name: str

    @abstractmethod
    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        """The HTTP request that asks ``upstream`` for this completion."""

    @abstractmethod
    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        """An upstream's whole answer as an OpenAI ``chat.completion`` body, with its usage."""

    @abstractmethod
    def translator(self, request: ChatRequest) -> StreamTranslator:
        """A translator for one streamed answer."""
