"""Requests, models and recorded-shaped chat streams for the Responses translation tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from quantized.catalog.model import Cost, Model
from quantized.gateway.providers.base import Provider
from quantized.gateway.providers.openai import OpenAIProvider
from quantized.gateway.responses.from_chat import ResponsesFromChat
from quantized.gateway.responses.request import ResponsesRequest, parse_responses_request
from quantized.gateway.responses.to_chat import Translation, translate

EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
CODEX = Path(__file__).parents[2] / "fixtures" / "codex_request.json"


def request(**body: Any) -> ResponsesRequest:
    return parse_responses_request(orjson.dumps({"model": "acme/m", "input": "hi", **body}))


def model(*features: str, context_length: int | None = None) -> Model:
    return Model(
        id="acme/m",
        name="M",
        cost=Cost(1, 2, 0),
        supported_features=features,
        context_length=context_length,
    )


def chat(found: ResponsesRequest, *features: str) -> dict[str, Any]:
    """The chat body the request becomes for a model with ``features``."""
    return translate(found, model(*features)).chat.body


def codex_body() -> dict[str, Any]:
    return json.loads(CODEX.read_bytes())  # type: ignore[no-any-return]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    data = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": choices, **extra}
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def usage_chunk(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> bytes:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    return b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n"


def call(index: int, call_id: str | None = None, name: str = "", args: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id is not None:
        found["id"], found["type"] = call_id, "function"
        found["function"]["name"] = name
    return {"tool_calls": [found]}


class Streamed:
    """What a translator sent for a chat stream fed in small pieces, checked on the way."""

    def __init__(self, translator: ResponsesFromChat, raw: list[bytes]) -> None:
        self.translator = translator
        self.raw = raw
        self.events = [parse(event) for event in raw]
        for event in self.events:
            EVENT.validate_python(event, strict=True)
        check_order(self.events)

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    @property
    def response(self) -> dict[str, Any]:
        return self.events[-1]["response"]  # type: ignore[no-any-return]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]


ITEM_EVENTS = {
    "message": r"content_part\.added( output_text\.delta)+ output_text\.done content_part\.done",
    "reasoning": r"reasoning_summary_part\.added( reasoning_summary_text\.delta)+"
    r" reasoning_summary_text\.done reasoning_summary_part\.done",
    "function_call": r"(function_call_arguments\.delta )?function_call_arguments\.done",
    "custom_tool_call": r"(custom_tool_call_input\.delta )?custom_tool_call_input\.done",
}
"""The events between an item's ``output_item.added`` and ``.done``, by item type."""


def check_order(events: list[dict[str, Any]]) -> None:
    """Numbered from 0; created and in_progress first, the end last; one item at a time,
    numbered in order, its own events between its added and done; the final output is the
    items done."""
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [event["type"] for event in events[:2]] == ["response.created", "response.in_progress"]
    assert events[-1]["type"] in ("response.completed", "response.incomplete")
    done: list[dict[str, Any]] = []
    item: dict[str, Any] | None = None
    inner: list[str] = []
    for event in events[2:-1]:
        kind = event["type"].removeprefix("response.")
        if kind == "output_item.added":
            assert item is None and event["output_index"] == len(done)
            item, inner = event["item"], []
        elif kind == "output_item.done":
            assert item is not None and event["item"]["id"] == item["id"]
            assert re.fullmatch(ITEM_EVENTS[item["type"]], " ".join(inner))
            done.append(event["item"])
            item = None
        else:
            assert item is not None
            assert (event["item_id"], event["output_index"]) == (item["id"], len(done))
            inner.append(kind)
    assert item is None
    assert events[-1]["response"]["output"] == done


def parse(event: bytes) -> dict[str, Any]:
    """One event: ``event: <type>`` then its data, whose ``type`` is the same."""
    head, data, end = event.split(b"\n", 2)
    assert end == b"\n" and head.startswith(b"event: ") and data.startswith(b"data: ")
    found: dict[str, Any] = json.loads(data[6:])
    assert found["type"] == head[7:].decode()
    return found


def stream(
    *chunks: bytes,
    found: ResponsesRequest | None = None,
    piece: int = 7,
    provider: Provider | None = None,
) -> Streamed:
    """Feed an upstream's stream (``piece`` bytes at a time) through ``ResponsesFromChat``
    around the ``provider``'s own translator (OpenAI's: the chat chunks as they are)."""
    found = found or request(stream=True)
    translation: Translation = translate(found, model())
    inner = (provider or OpenAIProvider()).translator(translation.chat)
    translator = ResponsesFromChat(inner, found, translation, "resp_0123", 1_700_000_000)
    data = b"".join(chunks) + (b"" if provider else b"data: [DONE]\n\n")
    raw = [
        event
        for at in range(0, len(data), piece)
        for event in translator.feed(data[at : at + piece])
    ]
    return Streamed(translator, raw + translator.finish())


def accumulated(events: list[dict[str, Any]]) -> Any:
    """The response the SDK's own stream state makes of the events, each validated first."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        state.handle_event(EVENT.validate_python(event))
    final = state._completed_response  # noqa: SLF001 - the SDK keeps it there
    return final


def valid_response(found: dict[str, Any]) -> Response:
    return Response.model_validate(found)
