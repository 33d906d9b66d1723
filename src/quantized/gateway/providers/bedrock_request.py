"""An OpenAI chat request as a body for Bedrock's Converse and ConverseStream APIs.

- system and developer messages become ``system`` text blocks; user and assistant
  turns alternate (consecutive ones merged); ``tool`` messages become ``toolResult``
  blocks of a user turn, assistant ``tool_calls`` ``toolUse`` blocks; empty text is
  left out (Bedrock refuses blank text blocks);
- images must be data URLs (Converse takes image bytes only: an ``http(s)`` URL is a
  400 from the gateway), in png, jpeg, gif or webp; ``file`` parts (PDF and other
  documents, base64) become ``document`` blocks; audio and video parts are a 400;
- a ``cache_control`` marker on a content part, a message or a tool adds a
  ``cachePoint`` block right after it (Bedrock caches the prompt up to there);
- ``max_completion_tokens``/``max_tokens``, ``temperature``, ``top_p`` and ``stop``
  become ``inferenceConfig``; tools ``toolConfig`` (``tool_choice`` ``auto`` → auto,
  ``required`` → any, a named function → tool; ``none`` sends no tools unless the
  conversation already holds tool calls, which Bedrock then requires tools for);
- a ``json_schema`` response format is served through a forced tool whose input is
  returned as the message content;
- ``reasoning_effort`` (Claude models only) becomes extended thinking,
  ``additionalModelRequestFields.thinking`` with a token budget (see ``BUDGETS``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from quantized.errors import InvalidRequestError
from quantized.gateway.providers.parts import arguments_object, data_url, image_url

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest

JSON_TOOL = "json_response"
CACHE_POINT = {"cachePoint": {"type": "default"}}
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
"""Thinking tokens per ``reasoning_effort``: each lands back in the effort the Messages
API translation gives that budget (below 4096 low, below 16384 medium, else high)."""
MIN_BUDGET = 1024
"""Claude's smallest thinking budget: a lower one (a small ``max_tokens``) thinks not at all."""
ANSWER_TOKENS = 4096
"""Output tokens beyond the thinking budget when thinking and the client set no maximum."""
_UNSUPPORTED = {"input_audio": "audio", "video_url": "video", "input_video": "video"}


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def _image(part: dict[str, Any], where: str) -> dict[str, Any]:
    url = image_url(part)
    found = data_url(url)
    if found is None:
        raise _invalid(
            "Bedrock takes images as base64 data URLs only (data:image/png;base64,…): "
            "the gateway does not fetch image URLs for it",
            where,
        )
    media, data = found
    if media not in IMAGE_FORMATS:
        raise _invalid(f"Bedrock takes png, jpeg, gif or webp images, not {media[:50]}", where)
    return {"image": {"format": IMAGE_FORMATS[media], "source": {"bytes": data}}}


def _document(part: dict[str, Any], where: str) -> dict[str, Any]:
    file = part.get("file")
    if not isinstance(file, dict):
        file = {}
    found = data_url(file.get("file_data"))
    if found is None or found[0] not in DOCUMENT_FORMATS:
        raise _invalid(
            "Bedrock takes files as base64 data (file_data) in one of its document formats "
            "(pdf, csv, doc, docx, xls, xlsx, html, txt, md)",
            where,
        )
    # Bedrock's names: letters, digits, single spaces, hyphens, parentheses, brackets
    name = re.sub(r"[^A-Za-z0-9\s\-()\[\]]", " ", str(file.get("filename") or ""))
    name = " ".join(name.split())[:200] or "document"
    return {
        "document": {
            "format": DOCUMENT_FORMATS[found[0]],
            "name": name,
            "source": {"bytes": found[1]},
        }
    }


def content_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """A message's content as Converse content blocks."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(content or []):
        kind, param = part.get("type"), f"{where}[{index}]"
        if kind == "text":
            if part.get("text"):
                blocks.append({"text": str(part["text"])})
        elif kind in ("image_url", "input_image"):
            blocks.append(_image(part, param))
        elif kind == "file":
            blocks.append(_document(part, param))
        elif kind in _UNSUPPORTED:
            raise _invalid(f"Bedrock's Converse API takes no {_UNSUPPORTED[kind]} input", param)
        else:
            continue
        if part.get("cache_control"):
            blocks.append(CACHE_POINT)
    return blocks


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    blocks = content_blocks(message.get("content"), where)
    content = [block for block in blocks if "cachePoint" not in block]
    tool_use_id = message.get("tool_call_id") or message.get("name") or ""
    return {"toolResult": {"toolUseId": str(tool_use_id), "content": content or [{"text": ""}]}}


def translate_messages(
    messages: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI messages as Converse's ``system`` blocks and alternating ``messages``."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role, where = message["role"], f"messages[{index}].content"
        if role in ("system", "developer"):
            blocks = content_blocks(message.get("content"), where)
            system += [b for b in blocks if "text" in b or "cachePoint" in b]
            if message.get("cache_control"):
                system.append(CACHE_POINT)
            continue
        if role in ("tool", "function"):
            role, blocks = "user", [_tool_result(message, where)]
        else:
            blocks = content_blocks(message.get("content"), where)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                tool_use = {
                    "toolUseId": str(call.get("id", "")),
                    "name": str(function.get("name", "")),
                    "input": arguments_object(function.get("arguments")),
                }
                blocks.append({"toolUse": tool_use})
        if message.get("cache_control"):
            blocks.append(CACHE_POINT)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"tool": {"name": str(choice["function"].get("name", ""))}}
    return {"auto": {}} if choice == "auto" else None


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function") or {}
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        spec: dict[str, Any] = {
            "name": str(function.get("name", "")),
            "inputSchema": {"json": schema},
        }
        if function.get("description"):
            spec["description"] = str(function["description"])
        tools.append({"toolSpec": spec})
        if tool.get("cache_control"):
            tools.append(CACHE_POINT)
    return tools


def _uses_tools(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in b or "toolResult" in b for t in turns for b in t["content"])


def _tool_config(request: ChatRequest, turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    body = request.body
    tools = _tools(body)
    choice = _tool_choice(body.get("tool_choice"))
    if body.get("tool_choice") == "none" and not _uses_tools(turns):
        tools = []
    if request.wants_json_schema:
        schema = (body["response_format"].get("json_schema") or {}).get("schema") or {}
        spec = {
            "name": JSON_TOOL,
            "description": "Answer with this JSON.",
            "inputSchema": {"json": schema},
        }
        tools.append({"toolSpec": spec})
        choice = {"tool": {"name": JSON_TOOL}}
    if not tools:
        return None
    return {"tools": tools, "toolChoice": choice} if choice is not None else {"tools": tools}


def is_claude(model: str) -> bool:
    return "anthropic." in model or "claude" in model.lower()


def _thinking(request: ChatRequest, model: str, config: dict[str, Any], forced: bool) -> int | None:
    """The thinking budget to ask for, or ``None``: not a Claude model, no effort asked, a
    forced tool (Claude refuses thinking then), or a tool loop under way (Claude wants its
    last turn's signed thinking back, which OpenAI-format clients do not keep)."""
    budget = BUDGETS.get(str(request.body.get("reasoning_effort")))
    if budget is None or forced or not is_claude(model):
        return None
    last = next((m for m in reversed(request.messages) if m["role"] == "assistant"), None)
    if last is not None and last.get("tool_calls"):
        return None
    most = config.get("maxTokens")
    if isinstance(most, int):
        budget = min(budget, most - 1)
        return budget if budget >= MIN_BUDGET else None
    config["maxTokens"] = budget + ANSWER_TOKENS
    return budget


def converse_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The Converse request body (the model goes in the URL)."""
    body = request.body
    system, messages = translate_messages(request.messages)
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    config: dict[str, Any] = {}
    most = body.get("max_completion_tokens") or body.get("max_tokens")
    if most is not None:
        config["maxTokens"] = most
    if body.get("temperature") is not None:
        config["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        config["topP"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    tool_config = _tool_config(request, messages)
    if tool_config is not None:
        out["toolConfig"] = tool_config
    forced = tool_config is not None and "auto" not in tool_config.get("toolChoice", {"auto": {}})
    budget = _thinking(request, model, config, forced)
    if budget is not None:
        out["additionalModelRequestFields"] = {
            "thinking": {"type": "enabled", "budget_tokens": budget}
        }
    if config:
        out["inferenceConfig"] = config
    return out
