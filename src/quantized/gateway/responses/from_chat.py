"""An OpenAI chat completion (whole or streamed) as a Responses API answer.

Whole answers: reasoning text (``reasoning_content`` or ``reasoning``) becomes a
``reasoning`` item with one summary part (no other provider encrypts its
reasoning for later turns, so there is no ``encrypted_content``), text a
``message`` item, tool calls ``function_call`` items, or ``custom_tool_call``
items (the model's ``{"input": …}`` as the text itself) for custom tools, with
the ``namespace`` apart for namespaced ones (see ``tools``). A ``length`` finish
leaves the response ``incomplete`` for ``max_output_tokens``, a
``content_filter`` one for ``content_filter``. Usage is OpenAI's, with the
reasoning tokens of chat's ``completion_tokens_details``.

Streams are generated in OpenAI's exact sequence, every event numbered from 0:
``response.created`` and ``response.in_progress``; per item
``response.output_item.added``, its part opened (a summary part for reasoning,
an ``output_text`` part for text), its deltas, its part closed and
``response.output_item.done`` — reasoning and text as they come, tool calls whole
at the end (gathered as for the Messages API: servers number them in their own
ways), with ``response.function_call_arguments.*`` or
``response.custom_tool_call_input.*`` events — then ``response.completed`` (or
``response.incomplete``) with the whole response object. An upstream that
reports no usage gets the gateway's estimate in it (the ledger still knows).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from quantized.gateway.chat_deltas import ChatDeltas, reasoning_of
from quantized.gateway.providers.base import json_answer
from quantized.gateway.responses.events import (
    Events,
    call_item,
    item_id,
    message_item,
    outcome,
    output_text,
    reasoning_item,
    reasoning_tokens,
    response_object,
    response_usage,
)
from quantized.gateway.responses.request import ResponsesRequest
from quantized.gateway.responses.to_chat import Translation
from quantized.gateway.streams import StreamTranslator, Usage


def whole_response(
    completion: bytes | dict[str, Any],
    usage: Usage,
    request: ResponsesRequest,
    translation: Translation,
    response_id: str,
    created_at: int,
) -> dict[str, Any]:
    """The response object for a ``chat.completion`` (as a provider's ``completion`` gives it)."""
    data = completion if isinstance(completion, dict) else json_answer(completion)
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    status, incomplete = outcome(choice.get("finish_reason"))
    item_status = "incomplete" if incomplete else "completed"
    output: list[dict[str, Any]] = []
    reasoning = reasoning_of(message)
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(item_id("rs"), reasoning))
    if isinstance(message.get("content"), str) and message["content"]:
        output.append(message_item(item_id("msg"), message["content"], item_status))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        call_id = str(call.get("id") or "call_" + secrets.token_hex(12))
        name, arguments = str(function.get("name") or ""), str(function.get("arguments") or "")
        output.append(call_item(call_id, name, arguments, translation.names, item_status))
    answered = response_usage(usage, reasoning_tokens(data))
    return response_object(request, response_id, created_at, output, status, answered, incomplete)


@dataclass(slots=True)
class _Streaming:
    """The item whose text is streaming: ``reasoning`` (a summary) or ``message``."""

    kind: str
    id: str
    index: int
    text: list[str] = field(default_factory=list)

    @property
    def where(self) -> dict[str, Any]:
        part = {"summary_index": 0} if self.kind == "reasoning" else {"content_index": 0}
        return {"item_id": self.id, "output_index": self.index, **part}


class ResponsesFromChat(ChatDeltas):
    """Responses API events from the chat chunks an ``inner`` provider translator produces.

    Once the stream has ended, :attr:`response` is the response object it answered
    (to store) and :attr:`usage` the upstream's usage (to bill), if it reported any.
    """

    def __init__(
        self,
        inner: StreamTranslator,
        request: ResponsesRequest,
        translation: Translation,
        response_id: str,
        created_at: int,
    ) -> None:
        super().__init__(inner, "call_")
        self._request = request
        self._names = translation.names
        self._id = response_id
        self._created_at = created_at
        self._events = Events()
        self._started = False
        self._output: list[dict[str, Any]] = []
        """The items done so far."""
        self._item: _Streaming | None = None
        self._reasoning_tokens = 0
        self.response: dict[str, Any] | None = None

    def _event(self, kind: str, **payload: Any) -> bytes:
        """The next event; :attr:`sequence` then numbers the one after it (an error event, if
        the stream breaks)."""
        event = self._events(kind, **payload)
        self.sequence = self._events.sent
        return event

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        shell = response_object(self._request, self._id, self._created_at, [], "in_progress")
        return [
            self._event("response.created", response=shell),
            self._event("response.in_progress", response=shell),
        ]

    def _chunk(self, data: dict[str, Any]) -> None:
        if "usage" in data:
            self._reasoning_tokens = reasoning_tokens(data) or self._reasoning_tokens

    def _open(self, kind: str) -> list[bytes]:
        out = self._close("completed")
        prefix = "rs" if kind == "reasoning" else "msg"
        item = self._item = _Streaming(kind, item_id(prefix), len(self._output))
        if kind == "reasoning":
            added, part = reasoning_item(item.id, None), {"type": "summary_text", "text": ""}
            opened = "response.reasoning_summary_part.added"
        else:
            added, part = message_item(item.id, None, "in_progress"), output_text("")
            opened = "response.content_part.added"
        return [
            *out,
            self._event("response.output_item.added", output_index=item.index, item=added),
            self._event(opened, **item.where, part=part),
        ]

    def _reasoning(self, text: str) -> list[bytes]:
        out = [] if self._item and self._item.kind == "reasoning" else self._open("reasoning")
        return [*out, self._delta("response.reasoning_summary_text.delta", text)]

    def _text(self, text: str) -> list[bytes]:
        out = [] if self._item and self._item.kind == "message" else self._open("message")
        return [*out, self._delta("response.output_text.delta", text, logprobs=[])]

    def _delta(self, kind: str, text: str, **extra: Any) -> bytes:
        assert self._item is not None  # noqa: S101 - opened by the caller
        self._item.text.append(text)
        self.chunks += 1
        return self._event(kind, **self._item.where, delta=text, **extra)

    def _close(self, status: str) -> list[bytes]:
        item, self._item = self._item, None
        if item is None:
            return []
        text = "".join(item.text)
        if item.kind == "reasoning":
            done = reasoning_item(item.id, text)
            part = {"type": "summary_text", "text": text}
            out = [
                self._event("response.reasoning_summary_text.done", **item.where, text=text),
                self._event("response.reasoning_summary_part.done", **item.where, part=part),
            ]
        else:
            done = message_item(item.id, text, status)
            out = [
                self._event("response.output_text.done", **item.where, text=text, logprobs=[]),
                self._event("response.content_part.done", **item.where, part=output_text(text)),
            ]
        self._output.append(done)
        return [*out, self._event("response.output_item.done", output_index=item.index, item=done)]

    def _calls(self, status: str) -> list[bytes]:
        out: list[bytes] = []
        for call in self._tools.calls:
            arguments = "".join(call.arguments)
            item = call_item(call.id, call.name, arguments, self._names, status)
            index = len(self._output)
            where = {"item_id": item["id"], "output_index": index}
            if item["type"] == "custom_tool_call":
                key, events = "input", "response.custom_tool_call_input"
            else:
                key, events = "arguments", "response.function_call_arguments"
            added = {**item, "status": "in_progress", key: ""}
            out.append(self._event("response.output_item.added", output_index=index, item=added))
            if item[key]:
                out.append(self._event(f"{events}.delta", **where, delta=item[key]))
            out.append(self._event(f"{events}.done", **where, **{key: item[key]}))
            self._output.append(item)
            out.append(self._event("response.output_item.done", output_index=index, item=item))
        return out

    def _end(self, finish: str) -> list[bytes]:
        status, incomplete = outcome(finish)
        item_status = "incomplete" if incomplete else "completed"
        out = [*self._close(item_status), *self._calls(item_status)]
        usage = self.usage or Usage(
            prompt_tokens=self._request.estimated_input_tokens(), completion_tokens=self.chunks
        )
        answered = response_usage(usage, self._reasoning_tokens)
        self.response = response_object(
            self._request, self._id, self._created_at, self._output, status, answered, incomplete
        )
        kind = "response.incomplete" if incomplete else "response.completed"
        return [*out, self._event(kind, response=self.response)]
