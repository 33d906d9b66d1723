"""An OpenAI chat stream read delta by delta, to answer in another API's events.

A provider's own translator (``inner``) turns its upstream's stream into chat
chunks; a :class:`ChatDeltas` translator turns their reasoning and text into its
API's events as they come, gathers tool calls (see ``tool_calls``: servers
number them in their own ways) and keeps the finish reason for the end.

An upstream that reports an error inside its stream (vLLM's ``{"error": …}``
chunk, OpenRouter's ``finish_reason: "error"``) or whose stream ends without a
finish reason raises :class:`~quantized.errors.BadGatewayError`: the client's
stream ends with an error event, never with an end that would pass a cut-off
answer for a whole one.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from quantized.errors import BadGatewayError
from quantized.gateway.messages.tool_calls import ToolCalls
from quantized.gateway.streams import StreamTranslator, event_data, json_event


def upstream_error(error: Any) -> BadGatewayError:
    """An error an upstream reported inside its stream."""
    message = error.get("message") if isinstance(error, dict) else error
    return BadGatewayError(f"The upstream reported an error: {str(message)[:1000]}")


def reasoning_of(holder: dict[str, Any]) -> Any:
    """Reasoning text, as vLLM, DeepSeek (``reasoning_content``) or OpenRouter (``reasoning``)."""
    return holder.get("reasoning_content") or holder.get("reasoning")


class ChatDeltas(StreamTranslator):
    """Another API's events from the chat chunks of ``inner``; subclasses say which."""

    def __init__(self, inner: StreamTranslator, call_id_prefix: str) -> None:
        super().__init__()
        self._inner = inner
        self._tools = ToolCalls(call_id_prefix)
        self._finish: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        out = [event for chunk in self._inner.feed(data) for event in self.translate(chunk)]
        self.usage = self._inner.usage
        return out

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is None or payload == b"[DONE]":
            return []
        out = self._start()
        data = json_event(payload)
        if data.get("error"):
            raise upstream_error(data["error"])
        self._chunk(data)
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = reasoning_of(delta)
            if isinstance(reasoning, str) and reasoning:
                out += self._reasoning(reasoning)
            text = delta.get("content")
            if isinstance(text, str) and text:
                out += self._text(text)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._tools.add(call)
            reason = choice.get("finish_reason")
            if reason == "error":
                raise upstream_error(choice.get("error") or "the stream ended with an error")
            if reason:
                self._finish = reason
        return out

    def finish(self) -> list[bytes]:
        out = [event for chunk in self._inner.finish() for event in self.translate(chunk)]
        if self._finish is None:
            raise BadGatewayError("The upstream's stream ended before its answer did.")
        self.usage = self._inner.usage
        return [*out, *self._start(), *self._end(self._finish)]

    def _chunk(self, data: dict[str, Any]) -> None:
        """Read what else a chunk carries (such as usage details)."""

    @abstractmethod
    def _start(self) -> list[bytes]:
        """The events that open the stream, the first time only."""

    @abstractmethod
    def _reasoning(self, text: str) -> list[bytes]:
        """The events for a piece of reasoning."""

    @abstractmethod
    def _text(self, text: str) -> list[bytes]:
        """The events for a piece of the answer's text."""

    @abstractmethod
    def _end(self, finish: str) -> list[bytes]:
        """The events that end the stream: the gathered tool calls, then the end."""
