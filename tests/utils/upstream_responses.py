"""The fake upstream's Responses API (``POST /v1/responses``), as OpenAI serves it.

Behaviours follow the model name as in ``tests.utils.upstreams``: ``echo`` answers
``echo: <last user text>`` (with function tools: calls the first one with
``{"q": "<last user text>"}``); ``usage-P-C-O`` reports P input tokens (C cached) and
O output tokens; ``think`` adds a reasoning item (summary ``thinking…``, encrypted
content ``ENCRYPTED``, 3 reasoning tokens) before the answer; ``break-N`` stops the
stream after N events. Events carry their ``event:`` name and ``sequence_number``.
"""

from __future__ import annotations

import json
import time
from typing import Any

ENCRYPTED = "ENCRYPTED-REASONING-1"


def last_user_text(body: dict[str, Any]) -> str:
    items = body.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items or []):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content if p.get("type") == "input_text")
    return ""


def _usage(behaviour: Any) -> dict[str, Any]:
    reasoning = 3 if behaviour.name == "think" else 0
    return {
        "input_tokens": behaviour.prompt,
        "input_tokens_details": {"cached_tokens": behaviour.cached, "cache_write_tokens": 0},
        "output_tokens": behaviour.completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": behaviour.prompt + behaviour.completion,
    }


def _output(body: dict[str, Any], behaviour: Any) -> list[dict[str, Any]]:
    text = last_user_text(body)
    output: list[dict[str, Any]] = []
    if behaviour.name == "think":
        output.append(
            {
                "id": "rs_fake1",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "thinking…"}],
                "encrypted_content": ENCRYPTED,
            }
        )
    functions = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    items = body.get("input") if isinstance(body.get("input"), list) else []
    answered = any(item.get("type") == "function_call_output" for item in items)
    if functions and not answered:
        output.append(
            {
                "id": "fc_fake1",
                "type": "function_call",
                "status": "completed",
                "call_id": "call_fake1",
                "name": functions[0]["name"],
                "arguments": json.dumps({"q": text}),
            }
        )
        return output
    output.append(
        {
            "id": "msg_fake1",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": f"echo: {text}", "annotations": []}],
        }
    )
    return output


def response_object(body: dict[str, Any], behaviour: Any, *, done: bool = True) -> dict[str, Any]:
    return {
        "id": "resp_fake" + str(time.monotonic_ns()),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed" if done else "in_progress",
        "model": body.get("model"),
        "output": _output(body, behaviour) if done else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "instructions": body.get("instructions"),
        "previous_response_id": body.get("previous_response_id"),
        "store": body.get("store", True),
        "error": None,
        "incomplete_details": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "usage": _usage(behaviour) if done else None,
    }


def response_events(body: dict[str, Any], behaviour: Any) -> list[str]:
    """The stream OpenAI sends for :func:`response_object`."""
    final = response_object(body, behaviour)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(final["output"]):
        events += _item_events(index, item)
    events.append({"type": "response.completed", "response": final})
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n"
        for n, e in enumerate(events)
    ]


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    at = {"output_index": index, "item_id": item["id"]}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        empty = {"type": "output_text", "text": "", "annotations": []}
        part = {"content_index": 0, **at}
        return [
            _added(index, {**item, "status": "in_progress", "content": []}),
            {"type": "response.content_part.added", **part, "part": empty},
            *(
                {"type": "response.output_text.delta", **part, "delta": word, "logprobs": []}
                for word in _pieces(text)
            ),
            {"type": "response.output_text.done", **part, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **part, "part": item["content"][0]},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    if item["type"] == "function_call":
        arguments = item["arguments"]
        return [
            _added(index, {**item, "status": "in_progress", "arguments": ""}),
            {"type": "response.function_call_arguments.delta", **at, "delta": arguments},
            {"type": "response.function_call_arguments.done", **at, "arguments": arguments},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    return [
        _added(index, {**item, "summary": []}),
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def _added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}
