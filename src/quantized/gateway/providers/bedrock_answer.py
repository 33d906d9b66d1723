"""A whole Converse answer as an OpenAI ``chat.completion``, and Bedrock's usage as ours.

``output.message.content`` blocks: ``text`` joins into ``content``, ``toolUse``
becomes ``tool_calls`` (the JSON-mode tool's input becomes the content instead),
``reasoningContent.reasoningText`` becomes ``reasoning_content``. ``stopReason``
maps to a finish reason (``FINISH``). Bedrock's ``inputTokens`` leave out the tokens
read from and written to its prompt cache: the prompt tokens are all three.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from quantized.gateway.providers.anthropic import openai_usage
from quantized.gateway.providers.bedrock_request import JSON_TOOL
from quantized.gateway.providers.openai import token_count
from quantized.gateway.streams import Usage, invalid_response

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def bedrock_usage(data: Any) -> Usage:
    """Converse's ``usage``: prompt tokens are input plus cache reads plus cache writes."""
    if not isinstance(data, dict):
        return Usage()
    cached = token_count(data.get("cacheReadInputTokens"))
    written = token_count(data.get("cacheWriteInputTokens"))
    return Usage(
        prompt_tokens=token_count(data.get("inputTokens")) + cached + written,
        cached_tokens=cached,
        completion_tokens=token_count(data.get("outputTokens")),
        cache_write_tokens=written,
    )


def _reasoning(block: dict[str, Any]) -> str:
    reasoning = block.get("reasoningContent")
    text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def translate_answer(
    data: dict[str, Any], model: str, json_mode: bool
) -> tuple[dict[str, Any], Usage]:
    """A Converse answer as an OpenAI ``chat.completion``, with its usage."""
    message = (data.get("output") or {}).get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise invalid_response("the answer has no output message")
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message["content"]:
        if isinstance(block.get("text"), str):
            text.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            tool = block["toolUse"]
            arguments = orjson.dumps(tool.get("input", {})).decode()
            if json_mode and tool.get("name") == JSON_TOOL:
                text.append(arguments)
                continue
            function = {"name": str(tool.get("name", "")), "arguments": arguments}
            calls.append(
                {"id": str(tool.get("toolUseId", "")), "type": "function", "function": function}
            )
        elif "reasoningContent" in block:
            reasoning.append(_reasoning(block))
    usage = bedrock_usage(data.get("usage"))
    out: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if any(reasoning):
        out["reasoning_content"] = "".join(reasoning)
    if calls:
        out["tool_calls"] = calls
    finish = FINISH.get(str(data.get("stopReason")), "stop")
    if json_mode and finish == "tool_calls" and not calls:
        finish = "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": out, "finish_reason": finish, "logprobs": None}],
        "usage": openai_usage(usage),
    }, usage
