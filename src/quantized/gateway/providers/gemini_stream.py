"""Gemini's ``streamGenerateContent?alt=sse`` as OpenAI chat-completion chunks.

Each event is a whole ``GenerateContentResponse`` holding the next parts of each
candidate: a candidate's first appearance sends its ``role`` chunk, text parts
``content`` deltas, thought parts ``reasoning_content`` deltas, ``functionCall`` parts
(which Gemini streams whole) one ``tool_calls`` delta each, numbered per candidate, and
its ``finishReason`` the chunk that ends its choice. ``usageMetadata`` is cumulative in
each event: the last one is the usage, sent in a last, choice-less chunk to clients
that asked for it (``stream_options.include_usage``). A prompt Gemini blocks ends the
stream with ``finish_reason: content_filter`` and no content (the status line was sent
before the upstream said so); a stream that ends before any candidate finished was cut
short, and the client is told so.
"""

from __future__ import annotations

import time
from typing import Any

from quantized.gateway.providers.gemini_answer import (
    blocked,
    candidate_index,
    check_answer,
    completion_id,
    finish_reason,
    gemini_usage,
    openai_usage,
    parts_of,
    tool_call,
)
from quantized.gateway.streams import (
    StreamTranslator,
    event_data,
    invalid_response,
    json_event,
    sse_event,
)


class GeminiStream(StreamTranslator):
    def __init__(self, include_usage: bool) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._id = ""
        self._model = ""
        self._created = int(time.time())
        self._started: set[int] = set()
        self._calls: dict[int, int] = {}
        """Candidate index -> tool calls sent for it so far."""
        self._finished: set[int] = set()
        self._reasoning = 0

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [
                    {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }
        )

    def _start(self, index: int) -> list[bytes]:
        if index in self._started:
            return []
        self._started.add(index)
        return [self._chunk(index, {"role": "assistant", "content": ""})]

    def _end(self, index: int, reason: str) -> bytes:
        self._finished.add(index)
        return self._chunk(index, {}, reason)

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is None:
            return []
        data = json_event(payload)
        candidates = check_answer(data)
        if not self._id:
            self._id, self._model = completion_id(data), str(data.get("modelVersion") or "")
        if "usageMetadata" in data:
            self.usage, self._reasoning = gemini_usage(data["usageMetadata"])
        out: list[bytes] = []
        if not candidates and blocked(data) is not None:
            return [*self._start(0), self._end(0, "content_filter")]
        for candidate in candidates:
            index = candidate_index(candidate)
            out += self._start(index)
            for part in parts_of(candidate):
                if isinstance(part.get("functionCall"), dict):
                    number = self._calls.get(index, 0)
                    self._calls[index] = number + 1
                    call = {"index": number, **tool_call(part)}
                    out.append(self._chunk(index, {"tool_calls": [call]}))
                elif isinstance(part.get("text"), str) and part["text"]:
                    key = "reasoning_content" if part.get("thought") is True else "content"
                    out.append(self._chunk(index, {key: part["text"]}))
                else:
                    continue
                self.chunks += 1
            reason = candidate.get("finishReason")
            if reason and index not in self._finished:
                out.append(self._end(index, finish_reason(reason, index in self._calls)))
        return out

    def finish(self) -> list[bytes]:
        if not self._finished:
            raise invalid_response("the stream ended before the answer did")
        out = []
        if self._include_usage and self.usage is not None:
            out.append(
                sse_event(
                    {
                        "id": self._id,
                        "object": "chat.completion.chunk",
                        "created": self._created,
                        "model": self._model,
                        "choices": [],
                        "usage": openai_usage(self.usage, self._reasoning),
                    }
                )
            )
        return [*out, *super().finish()]
