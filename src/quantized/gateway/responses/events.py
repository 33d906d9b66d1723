"""The Responses API's objects as the gateway makes them: output items, usage, the response
object and the numbered events of a stream.

The response object echoes the request as OpenAI's does: the model the client
named, its instructions, tools (as it sent them, hosted ones included),
``tool_choice``, sampling and output settings, ``previous_response_id``,
``store`` and ``metadata``, with OpenAI's defaults for what it left out
(``tool_choice: "auto"``, ``parallel_tool_calls: true``, ``truncation:
"disabled"``, a ``text`` format); settings whose default is the upstream's own
(``temperature``, ``top_p``) are ``null`` when not given.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from quantized.gateway.providers.openai import token_count
from quantized.gateway.responses.request import ResponsesRequest
from quantized.gateway.responses.tools import ToolNames
from quantized.gateway.streams import Usage

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Chat finish reasons that leave a response incomplete, with the reason it gives."""
_ECHOED = (
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "temperature",
    "top_p",
    "user",
)


def item_id(prefix: str) -> str:
    """A new output item id: ``msg``, ``rs``, ``fc`` or ``ctc``, an underscore, random hex."""
    return f"{prefix}_{secrets.token_hex(16)}"


def outcome(finish: str | None) -> tuple[str, str | None]:
    """The response status for a chat finish reason, and why it is incomplete if it is."""
    reason = INCOMPLETE.get(finish or "")
    return ("incomplete", reason) if reason else ("completed", None)


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(id_: str, text: str | None, status: str) -> dict[str, Any]:
    """An assistant message: no content part until its text starts (``text`` is ``None``)."""
    content = [] if text is None else [output_text(text)]
    return {"id": id_, "type": "message", "role": "assistant", "status": status, "content": content}


def reasoning_item(id_: str, text: str | None) -> dict[str, Any]:
    """Reasoning, as one summary part (an empty summary until it starts)."""
    summary = [] if text is None else [{"type": "summary_text", "text": text}]
    return {"id": id_, "type": "reasoning", "summary": summary}


def custom_input(arguments: str) -> str:
    """A custom tool's input from the arguments of the function it became: ``{"input": …}``
    (arguments of any other shape are passed on as they came)."""
    try:
        found = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    value = found.get("input") if isinstance(found, dict) else None
    return value if isinstance(value, str) else arguments


def call_item(
    call_id: str, name: str, arguments: str, names: ToolNames, status: str
) -> dict[str, Any]:
    """A chat tool call as the ``function_call`` or ``custom_tool_call`` the client declared."""
    tool = names.client(name)
    custom = tool.kind == "custom"
    item: dict[str, Any] = {
        "id": item_id("ctc" if custom else "fc"),
        "type": "custom_tool_call" if custom else "function_call",
        "status": status,
        "call_id": call_id,
        "name": tool.name,
    }
    if custom:
        item["input"] = custom_input(arguments)
    else:
        item["arguments"] = arguments or "{}"
    if tool.namespace is not None:
        item["namespace"] = tool.namespace
    return item


def reasoning_tokens(data: dict[str, Any]) -> int:
    """``usage.completion_tokens_details.reasoning_tokens`` of a chat answer or chunk."""
    usage = data.get("usage")
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    return token_count(details.get("reasoning_tokens")) if isinstance(details, dict) else 0


def response_usage(usage: Usage, reasoning: int) -> dict[str, Any]:
    """Usage in the Responses API's terms: input tokens include the cached ones."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def response_object(
    request: ResponsesRequest,
    response_id: str,
    created_at: int,
    output: list[dict[str, Any]],
    status: str,
    usage: dict[str, Any] | None = None,
    incomplete: str | None = None,
) -> dict[str, Any]:
    """The response object: ``status`` ``in_progress`` (no usage yet), ``completed``, or
    ``incomplete`` for the reason given."""
    body = request.body
    parallel = body.get("parallel_tool_calls")
    found: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None if incomplete is None else {"reason": incomplete},
        "model": request.model,
        "output": output,
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "previous_response_id": request.previous_response_id,
        "store": request.store,
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "truncation": body.get("truncation") or "disabled",
        "metadata": body.get("metadata") or {},
        "usage": usage,
    }
    for name in _ECHOED:
        found[name] = body.get(name)
    if status == "completed":
        found["completed_at"] = int(time.time())
    return found


class Events:
    """The events of one stream, numbered from 0: ``event: <type>`` and its JSON data."""

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, kind: str, **payload: Any) -> bytes:
        data = orjson.dumps({"type": kind, "sequence_number": self.sent, **payload})
        self.sent += 1
        return b"event: %s\ndata: %s\n\n" % (kind.encode(), data)
