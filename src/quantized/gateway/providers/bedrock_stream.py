"""Bedrock's ConverseStream answer, ``application/vnd.amazon.eventstream``, as chat chunks.

The stream is binary frames: a prelude (total length, headers length, the prelude's
CRC32), headers (``:message-type`` ``event``, ``exception`` or ``error``;
``:event-type``; ``:exception-type``), a JSON payload and the message's CRC32. Frames
are cut from the bytes as they arrive (a frame longer than ``MAX_EVENT_BYTES``, or a
prelude whose CRC is wrong, is an invalid answer at once) and each whole frame is
checked and parsed by botocore's own event-stream parser.

Events become chat completion chunks: ``messageStart`` the role, ``contentBlockStart``
of a ``toolUse`` a tool call (id and name), ``contentBlockDelta`` text (``content``),
tool input (``arguments``, or the content in JSON mode) or reasoning
(``reasoning_content``), ``messageStop`` the finish reason, and ``metadata`` the usage
(sent as a last usage-only chunk when the client asked for it). An exception frame
ends the client's stream with an error naming it (``throttlingException``,
``modelStreamErrorException``, …); so does a stream that ends without ``messageStop``.
"""

from __future__ import annotations

import time
import uuid
import zlib
from typing import Any

import orjson

from quantized.errors import BadGatewayError
from quantized.gateway.providers.anthropic import openai_usage
from quantized.gateway.providers.bedrock_answer import FINISH, bedrock_usage
from quantized.gateway.providers.bedrock_request import JSON_TOOL
from quantized.gateway.streams import (
    MAX_EVENT_BYTES,
    StreamTranslator,
    invalid_response,
    json_event,
    sse_event,
)

PRELUDE = 12
MINIMUM_FRAME = 16
"""A prelude and a message CRC: a frame with no headers and no payload."""


def _frame_length(buffer: bytearray) -> int:
    """The length of the frame that ``buffer`` starts with (its prelude checked)."""
    total = int.from_bytes(buffer[0:4], "big")
    if zlib.crc32(buffer[0:8]) != int.from_bytes(buffer[8:12], "big"):
        raise invalid_response("an event-stream frame's prelude is corrupt (its CRC differs)")
    if not MINIMUM_FRAME <= total <= MAX_EVENT_BYTES:
        raise invalid_response(f"an event-stream frame's length is {total} bytes")
    return total


def parse_frame(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """One whole frame's headers and payload, checked by botocore (CRCs, header lengths)."""
    from botocore.eventstream import EventStreamBuffer, ParserError  # type: ignore[import-untyped]

    parser = EventStreamBuffer()
    parser.add_data(frame)
    try:
        message = parser.next()
    except (ParserError, StopIteration, ValueError, KeyError, IndexError) as exc:
        raise invalid_response(f"an event-stream frame is corrupt ({type(exc).__name__})") from None
    return message.headers, message.payload


def stream_error(headers: dict[str, Any], payload: bytes) -> BadGatewayError:
    """An ``exception`` (or ``error``) frame as the error that ends the client's stream."""
    kind = headers.get(":exception-type") or headers.get(":error-code") or "error"
    message = headers.get(":error-message")
    try:
        data = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        data = {}
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message = data["message"]
    return BadGatewayError(
        f"The upstream reported an error ({str(kind)[:100]}): {str(message or 'no details')[:1000]}"
    )


class BedrockStream(StreamTranslator):
    def __init__(self, model: str, include_usage: bool, json_mode: bool) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._json_mode = json_mode
        self._id = f"chatcmpl-{uuid.uuid4().hex}"
        self._model = model
        self._created = int(time.time())
        self._tools: dict[int, int] = {}
        """Converse content-block index -> OpenAI tool-call index."""
        self._json_blocks: set[int] = set()
        self._finish: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        while len(buffer) >= PRELUDE:
            total = _frame_length(buffer)
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            out += self.translate(frame)
        return out

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse_event(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [choice],
            }
        )

    def translate(self, event: bytes) -> list[bytes]:
        """The chunks for one whole frame."""
        headers, payload = parse_frame(event)
        if headers.get(":message-type", "event") != "event":
            raise stream_error(headers, payload)
        kind = headers.get(":event-type")
        data = json_event(payload) if payload else {}
        if kind == "messageStart":
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "contentBlockStart":
            return self._start(data)
        if kind == "contentBlockDelta":
            return self._delta(data)
        if kind == "messageStop":
            finish = FINISH.get(str(data.get("stopReason")), "stop")
            if self._json_mode and finish == "tool_calls" and not self._tools:
                finish = "stop"
            self._finish = finish
            return [self._chunk({}, finish)]
        if kind == "metadata":
            if isinstance(data.get("usage"), dict):
                self.usage = bedrock_usage(data["usage"])
        return []

    def _start(self, data: dict[str, Any]) -> list[bytes]:
        tool = (data.get("start") or {}).get("toolUse")
        if not isinstance(tool, dict):
            return []
        index = data.get("contentBlockIndex", 0)
        if self._json_mode and tool.get("name") == JSON_TOOL:
            self._json_blocks.add(index)
            return []
        position = self._tools[index] = len(self._tools)
        call = {
            "index": position,
            "id": str(tool.get("toolUseId", "")),
            "type": "function",
            "function": {"name": str(tool.get("name", "")), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _delta(self, data: dict[str, Any]) -> list[bytes]:
        delta = data.get("delta") or {}
        index = data.get("contentBlockIndex", 0)
        if isinstance(delta.get("text"), str):
            self.chunks += 1
            return [self._chunk({"content": delta["text"]})]
        tool = delta.get("toolUse")
        if isinstance(tool, dict) and isinstance(tool.get("input"), str):
            self.chunks += 1
            if index in self._json_blocks:
                return [self._chunk({"content": tool["input"]})]
            call = {"index": self._tools.get(index, 0), "function": {"arguments": tool["input"]}}
            return [self._chunk({"tool_calls": [call]})]
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
            self.chunks += 1
            return [self._chunk({"reasoning_content": reasoning["text"]})]
        return []  # a reasoning signature, redacted reasoning: nothing a chat client reads

    def finish(self) -> list[bytes]:
        if self._buffer:
            raise invalid_response("the event stream ended inside a frame")
        if self._finish is None:
            raise BadGatewayError("The upstream's stream ended before its answer did.")
        out = []
        if self._include_usage and self.usage is not None:
            usage = openai_usage(self.usage)
            out.append(
                sse_event(
                    {
                        "id": self._id,
                        "object": "chat.completion.chunk",
                        "created": self._created,
                        "model": self._model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            )
        return [*out, *super().finish()]
