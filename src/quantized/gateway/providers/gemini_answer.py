"""Gemini's answers (``GenerateContentResponse``) as OpenAI chat completions: see
:mod:`.gemini` for the mapping."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from quantized.errors import BadGatewayError, UpstreamRejected
from quantized.gateway.providers.openai import token_count
from quantized.gateway.streams import Usage, invalid_response

FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def finish_reason(reason: Any, called: bool) -> str:
    """A Gemini ``finishReason`` as OpenAI's (``called``: the candidate called tools)."""
    if reason == "MAX_TOKENS":
        return "length"
    if reason in FILTERED:
        return "content_filter"
    return "tool_calls" if called else "stop"


def gemini_usage(metadata: Any) -> tuple[Usage, int]:
    """``usageMetadata`` as :class:`Usage`, with the thinking tokens among its output."""
    if not isinstance(metadata, dict):
        return Usage(), 0
    thoughts = token_count(metadata.get("thoughtsTokenCount"))
    prompt = token_count(metadata.get("promptTokenCount"))
    usage = Usage(
        prompt_tokens=prompt + token_count(metadata.get("toolUsePromptTokenCount")),
        cached_tokens=min(token_count(metadata.get("cachedContentTokenCount")), prompt),
        completion_tokens=token_count(metadata.get("candidatesTokenCount")) + thoughts,
    )
    return usage, thoughts


def openai_usage(usage: Usage, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def tool_call(part: dict[str, Any]) -> dict[str, Any]:
    """A ``functionCall`` part as an OpenAI tool call, under a new id."""
    call = part["functionCall"]
    args = call.get("args")
    found: dict[str, Any] = {
        "id": f"call_{secrets.token_hex(12)}",
        "type": "function",
        "function": {
            "name": str(call.get("name") or ""),
            "arguments": orjson.dumps(args if isinstance(args, dict) else {}).decode(),
        },
    }
    if isinstance(part.get("thoughtSignature"), str):
        found["extra_content"] = {"google": {"thought_signature": part["thoughtSignature"]}}
    return found


def parts_of(candidate: dict[str, Any]) -> list[dict[str, Any]]:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if parts is None:
        return []
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise invalid_response("a candidate's parts are not a list of objects")
    return parts


def candidate_index(candidate: dict[str, Any]) -> int:
    """A candidate's index: proto3 JSON leaves it out when it is 0."""
    index = candidate.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def check_answer(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates of an answer (a whole one, or one streamed piece): an ``error`` is
    reported, a blocked prompt is the client's 400."""
    error = data.get("error")
    if isinstance(error, dict):
        raise BadGatewayError(
            f"The upstream reported an error ({error.get('status', 'error')}): "
            f"{str(error.get('message') or 'no details')[:1000]}"
        )
    candidates = data.get("candidates")
    if candidates is None:
        candidates = []
    if not isinstance(candidates, list) or not all(isinstance(c, dict) for c in candidates):
        raise invalid_response("candidates is not a list of objects")
    return candidates


def blocked(data: dict[str, Any]) -> UpstreamRejected | None:
    """The error for a prompt Gemini refused to answer, if it did."""
    feedback = data.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if not reason:
        return None
    detail = feedback.get("blockReasonMessage") if isinstance(feedback, dict) else None
    return UpstreamRejected(
        400,
        f"The upstream (Gemini) blocked the prompt ({str(reason)[:100]})"
        + (f": {str(detail)[:500]}" if detail else "; rephrase it and try again."),
        param="messages",
        code="content_filter",
    )


def completion_id(data: dict[str, Any]) -> str:
    found = data.get("responseId")
    if not isinstance(found, str) or not found:
        found = secrets.token_hex(12)
    return f"chatcmpl-{found}"


def translate_answer(data: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    """A ``GenerateContentResponse`` as an OpenAI ``chat.completion``."""
    candidates = check_answer(data)
    if not candidates:
        raise blocked(data) or invalid_response("the answer has no candidates")
    choices = []
    for candidate in candidates:
        text: list[str] = []
        thoughts: list[str] = []
        calls: list[dict[str, Any]] = []
        for part in parts_of(candidate):
            if isinstance(part.get("functionCall"), dict):
                calls.append(tool_call(part))
            elif isinstance(part.get("text"), str):
                (thoughts if part.get("thought") is True else text).append(part["text"])
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
        if thoughts:
            message["reasoning_content"] = "".join(thoughts)
        if calls:
            message["tool_calls"] = calls
        choices.append(
            {
                "index": candidate_index(candidate),
                "message": message,
                "finish_reason": finish_reason(candidate.get("finishReason"), bool(calls)),
                "logprobs": None,
            }
        )
    usage, reasoning = gemini_usage(data.get("usageMetadata"))
    return {
        "id": completion_id(data),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(data.get("modelVersion") or ""),
        "choices": sorted(choices, key=lambda choice: choice["index"]),
        "usage": openai_usage(usage, reasoning),
    }, usage
