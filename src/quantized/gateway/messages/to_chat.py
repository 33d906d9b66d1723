"""A Messages API request as an OpenAI chat completions request, for any other upstream.

- ``system`` (a string or text blocks) and ``role: "system"`` messages become system
  messages, in place;
- user text, images (base64 as data URLs, or URLs) and PDF documents (as ``file``
  parts) become content parts; text documents become text;
- ``tool_result`` blocks become ``tool`` messages (an ``is_error`` result is said to be
  an error), placed before the rest of their user turn, as OpenAI requires;
- assistant ``tool_use`` blocks become ``tool_calls``; ``thinking`` and
  ``redacted_thinking`` blocks of earlier turns are dropped (their signatures mean
  nothing to another provider);
- custom tools become functions (without the ``$schema`` key some providers reject);
  Anthropic's own server and client tools (``web_search_…``, ``bash_…``) cannot run
  elsewhere and are dropped; ``tool_choice`` and ``disable_parallel_tool_use`` map;
- ``stop_sequences`` → ``stop``; ``max_tokens`` → ``max_completion_tokens`` for
  reasoning models, ``max_tokens`` otherwise; ``temperature`` and ``top_p`` as they are;
- ``thinking`` (and ``output_config.effort``) → ``reasoning_effort`` for models with
  the ``reasoning`` feature, dropped otherwise; ``output_config.format`` → a
  ``json_schema`` response format.
"""

from __future__ import annotations

from typing import Any

import orjson

from quantized.catalog.model import Model
from quantized.gateway.messages.request import MessagesRequest
from quantized.gateway.surfaces.chat import ChatRequest

_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "xhigh": "high"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n\n".join(str(b.get("text", "")) for b in texts)
    return ""


def _source_part(block: dict[str, Any]) -> dict[str, Any] | None:
    """An image or document block as an OpenAI content part (``None`` if it has no form there)."""
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    kind, media = source.get("type"), source.get("media_type", "")
    if block["type"] == "image":
        if kind == "base64":
            url = f"data:{media};base64,{source.get('data', '')}"
        elif kind == "url":
            url = str(source.get("url", ""))
        else:
            return None
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "text":  # a plain-text document
        return {"type": "text", "text": str(source.get("data", ""))}
    if kind == "base64":
        data = f"data:{media};base64,{source.get('data', '')}"
        name = str(block.get("title") or "document.pdf")
        return {"type": "file", "file": {"filename": name, "file_data": data}}
    return None


def _parts(blocks: list[Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind in ("image", "document"):
            part = _source_part(block)
            if part is not None:
                parts.append(part)
    return parts


def _tool_message(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ``tool_result`` as a ``tool`` message, and the images it held (for a user message)."""
    content = block.get("content")
    text = _text(content)
    parts = _parts(content) if isinstance(content, list) else []
    images = [p for p in parts if p["type"] == "image_url"]
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    message = {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}
    return message, images


def _user(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    rest = []
    for block in content:
        if block.get("type") == "tool_result":
            message, found = _tool_message(block)
            out.append(message)
            images += found
        else:
            rest.append(block)
    parts = images + _parts(rest)
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text = []
    calls = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name", "")),
                        "arguments": orjson.dumps(block.get("input", {})).decode(),
                    },
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if not calls and message["content"] is None:  # only thinking: OpenAI wants some content
        message["content"] = ""
    if calls:
        message["tool_calls"] = calls
    return message


def chat_messages(request: MessagesRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = _text(request.body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for message in request.messages:
        role, content = message["role"], message.get("content")
        if role == "system":
            out.append({"role": "system", "content": _text(content)})
        elif role == "assistant":
            out.append(_assistant(content))
        else:
            out += _user(content)
    return answers_first(out)


def answers_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Move a system message that falls between tool calls and their results after the
    results: OpenAI refuses a ``tool`` message that does not follow its call."""
    out: list[dict[str, Any]] = []
    waiting: set[str] = set()
    held: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "system" and waiting:
            held.append(message)
            continue
        if role == "tool" and message["tool_call_id"] in waiting:
            waiting.discard(message["tool_call_id"])
            out.append(message)
            if not waiting:
                out += held
                held = []
            continue
        out += held
        held = []
        waiting = {call["id"] for call in message.get("tool_calls") or ()}
        out.append(message)
    return out + held


def _schema(schema: Any) -> Any:
    if isinstance(schema, dict) and "$schema" in schema:
        return {k: v for k, v in schema.items() if k != "$schema"}
    return schema or {"type": "object", "properties": {}}


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": str(tool.get("description") or ""),
                "parameters": _schema(tool.get("input_schema")),
            },
        }
        for tool in body.get("tools") or ()
        if tool.get("type") in (None, "custom")
    ]


def _tool_choice(choice: dict[str, Any]) -> Any:
    kind = choice.get("type")
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": str(choice.get("name", ""))}}
    return "none" if kind == "none" else "auto"


def _effort(body: dict[str, Any]) -> str | None:
    """The reasoning effort asked for: ``output_config.effort``, else the thinking budget."""
    config = body.get("output_config") or {}
    effort = _EFFORTS.get(str(config.get("effort")))
    thinking = body.get("thinking") or {}
    if effort is None and thinking.get("type") == "adaptive":
        effort = "medium"
    if effort is None and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) else 0
        effort = "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    return effort


def chat_request(request: MessagesRequest, model: Model) -> ChatRequest:
    """The OpenAI-format request for ``model`` (its features decide reasoning)."""
    body = request.body
    reasoning = "reasoning" in model.supported_features
    out: dict[str, Any] = {"model": request.model, "messages": chat_messages(request)}
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int):
        if model.context_length:
            max_tokens = min(max_tokens, model.context_length)
        out["max_completion_tokens" if reasoning else "max_tokens"] = max_tokens
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    tools = _tools(body)
    choice = body.get("tool_choice")
    if tools:
        out["tools"] = tools
        if isinstance(choice, dict):
            named = {tool["function"]["name"] for tool in tools}
            if choice.get("type") == "tool" and choice.get("name") not in named:
                choice = {**choice, "type": "auto"}  # a server tool, dropped above
            out["tool_choice"] = _tool_choice(choice)
            if choice.get("disable_parallel_tool_use") is True:
                out["parallel_tool_calls"] = False
    effort = _effort(body) if reasoning else None
    if effort is not None:
        out["reasoning_effort"] = effort
    output_format = request.output_format
    if output_format is not None:
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": _schema(output_format.get("schema"))},
        }
    if request.stream:
        out["stream"] = True
    return ChatRequest(out, request.model, request.stream, False, request.modalities)
