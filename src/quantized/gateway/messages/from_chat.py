"""An OpenAI chat completion (whole or streamed) as a Messages API answer.

Whole answers: reasoning text becomes a ``thinking`` block (with an empty
signature: no other provider signs its reasoning), text a ``text`` block, tool
calls ``tool_use`` blocks; finish reasons map to stop reasons; usage to
Anthropic's, where ``input_tokens`` excludes cache reads and writes.

Streams are generated in Anthropic's exact sequence: ``message_start``, ``ping``,
then per block ``content_block_start`` / ``content_block_delta`` (``thinking_delta``
then ``signature_delta``, ``text_delta``, ``input_json_delta``) /
``content_block_stop`` — thinking and text as they come, tool calls whole at the
end — then ``message_delta`` with the stop reason and the cumulative usage, and
``message_stop``. An OpenAI-compatible upstream reports
usage only at the end, so ``message_start`` carries the gateway's estimate of
the input tokens, and ``message_delta`` the upstream's exact counts (Anthropic's
SDK takes the last value reported for each field).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from quantized.gateway.chat_deltas import ChatDeltas, reasoning_of
from quantized.gateway.providers.base import json_answer
from quantized.gateway.streams import StreamTranslator, Usage

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish: str | None, called_tools: bool) -> str:
    """Anthropic's stop reason; ``tool_use`` whenever tools were called (Ollama and some
    vLLM parsers say ``stop`` then), unless the answer was cut at ``max_tokens``."""
    reason = STOP_REASONS.get(finish or "stop", "end_turn")
    return "tool_use" if called_tools and reason != "max_tokens" else reason


def message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def anthropic_usage(usage: Usage) -> dict[str, int]:
    """Usage in Anthropic's terms: input tokens exclude the cached and cache-written ones."""
    uncached = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    return {
        "input_tokens": max(uncached, 0),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.completion_tokens,
    }


def _input(arguments: Any) -> Any:
    if not isinstance(arguments, str) or not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": value}


def whole_message(body: bytes, usage: Usage, model: str) -> bytes:
    """A ``chat.completion`` body as an Anthropic ``message`` body."""
    data = json_answer(body)
    choices = data.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = reasoning_of(message)
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + secrets.token_hex(12),
                "name": function.get("name", ""),
                "input": _input(function.get("arguments")),
            }
        )
    answer = {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason"), bool(message.get("tool_calls"))),
        "stop_sequence": None,
        "usage": anthropic_usage(usage),
    }
    return orjson.dumps(answer)


def event(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (name.encode(), orjson.dumps({"type": name, **payload}))


class MessagesFromChat(ChatDeltas):
    """Anthropic events from the OpenAI chunks an ``inner`` provider translator produces.

    Thinking and text stream as they come; tool calls are gathered and sent whole at
    the end (see ``tool_calls``). An upstream error, or a stream that ends without a
    finish reason, ends the client's stream with an error event (see ``chat_deltas``),
    never with an ``end_turn`` that would pass a cut-off answer for a whole one.
    """

    def __init__(self, inner: StreamTranslator, model: str, estimated_input: int) -> None:
        super().__init__(inner, "toolu_")
        self._model = model
        self._estimated_input = estimated_input
        self._started = False
        self._index = -1
        self._open: str | None = None
        """The kind of the content block being streamed (``thinking`` or ``text``)."""

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        usage = {"input_tokens": self._estimated_input, "output_tokens": 0}
        message: dict[str, Any] = {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [event("message_start", {"message": message}), event("ping", {})]

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        out = []
        if self._open == "thinking":
            delta = {"type": "signature_delta", "signature": ""}
            out.append(event("content_block_delta", {"index": self._index, "delta": delta}))
        self._open = None
        return [*out, event("content_block_stop", {"index": self._index})]

    def _block(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self._index += 1
        self._open = kind
        start = {"index": self._index, "content_block": block}
        return [*out, event("content_block_start", start)]

    def _delta(self, delta: dict[str, Any]) -> bytes:
        self.chunks += 1
        return event("content_block_delta", {"index": self._index, "delta": delta})

    def _reasoning(self, text: str) -> list[bytes]:
        out = []
        if self._open != "thinking":
            out = self._block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        return [*out, self._delta({"type": "thinking_delta", "thinking": text})]

    def _text(self, text: str) -> list[bytes]:
        out = []
        if self._open != "text":
            out = self._block("text", {"type": "text", "text": ""})
        return [*out, self._delta({"type": "text_delta", "text": text})]

    def _tool_blocks(self) -> list[bytes]:
        out: list[bytes] = []
        for call in self._tools.calls:
            block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            out += self._block("tool_use", block)
            if call.arguments:
                partial = "".join(call.arguments)
                out.append(self._delta({"type": "input_json_delta", "partial_json": partial}))
        return out

    def _end(self, finish: str) -> list[bytes]:
        out = [*self._tool_blocks(), *self._close()]
        if self.usage is None:
            usage = {"input_tokens": self._estimated_input, "output_tokens": self.chunks}
        else:
            usage = anthropic_usage(self.usage)
        delta = {"stop_reason": stop_reason(finish, bool(self._tools)), "stop_sequence": None}
        out.append(event("message_delta", {"delta": delta, "usage": usage}))
        out.append(event("message_stop", {}))
        return out
