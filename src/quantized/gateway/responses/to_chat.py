"""A Responses API request as an OpenAI chat completions request, for any other upstream.

- ``instructions`` become the first system message; ``system`` and ``developer``
  messages become system messages, in place;
- content parts: ``input_text`` and ``output_text`` become text; ``input_image`` an
  ``image_url`` part (one given by ``file_id``, a ``file`` part); ``input_file`` a
  ``file`` part (one given by ``file_url``, which chat cannot take, a text part
  naming it); ``input_audio`` stays as it is;
- ``function_call`` and ``custom_tool_call`` items become the ``tool_calls`` of one
  assistant message (the assistant message right before them, if any); a custom
  call's ``input`` becomes the arguments ``{"input": …}`` its function takes;
- ``function_call_output`` and ``custom_tool_call_output`` items become ``tool``
  messages (a list output as its text); the images and files of list outputs follow
  the run of results in a user message, since chat's tool messages take only text;
- ``reasoning`` items are dropped (their encrypted content is for OpenAI's models
  only), as are the items chat has no form of (hosted tool calls, references);
- tools: see ``quantized.gateway.responses.tools``; the tools of ``additional_tools``
  items join the request's own;
- ``reasoning.effort`` → ``reasoning_effort`` for models with the ``reasoning``
  feature (``xhigh`` → ``high``, ``minimal`` → ``low``, ``none`` left out);
  ``max_output_tokens`` → ``max_completion_tokens`` for reasoning models,
  ``max_tokens`` otherwise (as for the Messages API); ``text.format`` → a
  ``response_format``; ``temperature``, ``top_p``, ``parallel_tool_calls``,
  ``prompt_cache_key``, ``safety_identifier`` and ``user`` as they are. The rest
  (``text.verbosity``, ``include``, ``store``, ``metadata``, ``truncation``,
  ``previous_response_id``…) is for the gateway or OpenAI alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from quantized.catalog.model import Model
from quantized.gateway.messages.to_chat import answers_first
from quantized.gateway.responses.request import ResponsesRequest
from quantized.gateway.responses.tools import ToolNames, chat_tools
from quantized.gateway.surfaces.chat import ChatRequest

_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
_TEXT_PARTS = ("input_text", "output_text", "text")
_CALLS = ("function_call", "custom_tool_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")
_KEPT = ("temperature", "top_p", "prompt_cache_key", "safety_identifier", "user")


@dataclass(slots=True)
class Translation:
    """The chat request, and what answering its calls in the client's terms needs."""

    chat: ChatRequest
    names: ToolNames
    """The client tool of each chat function name (see :meth:`ToolNames.client`)."""
    dropped: list[str]
    """The hosted tool types the upstream was not told of."""


def _text(content: Any, separator: str = "\n\n") -> str:
    if isinstance(content, str):
        return content
    texts = [
        str(part.get("text") or part.get("refusal") or "")
        for part in content or ()
        if isinstance(part, dict) and part.get("type") in (*_TEXT_PARTS, "refusal")
    ]
    return separator.join(texts)


def _file(part: dict[str, Any]) -> dict[str, Any]:
    found = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k)}
    if found or not part.get("file_url"):
        return {"type": "file", "file": found}
    return {"type": "text", "text": f"(A file at {part['file_url']})"}


def _part(part: dict[str, Any]) -> dict[str, Any] | None:
    """A content part as a chat content part (``None`` if it has no form there)."""
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": str(part.get("text") or "")}
    if kind == "input_image" and part.get("image_url"):
        image = {"url": str(part["image_url"])}
        if part.get("detail") in ("low", "high"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_image" and part.get("file_id"):
        return {"type": "file", "file": {"file_id": part["file_id"]}}
    if kind == "input_file":
        return _file(part)
    if kind == "input_audio" and isinstance(part.get("input_audio"), dict):
        return {"type": "input_audio", "input_audio": part["input_audio"]}
    return None


def _parts(content: list[Any]) -> list[dict[str, Any]]:
    found = (_part(part) for part in content if isinstance(part, dict))
    return [part for part in found if part is not None]


class _Messages:
    """Chat messages, made as the conversation's items are read in order."""

    def __init__(self, names: ToolNames) -> None:
        self.out: list[dict[str, Any]] = []
        self._names = names
        self._held: list[dict[str, Any]] = []
        """Images and files of the tool outputs read since the last other item."""

    def add(self, item: dict[str, Any]) -> None:
        kind = item.get("type") or "message"
        if kind in _OUTPUTS:
            self._output(item)
            return
        self._release()
        if kind == "message":
            self._message(item)
        elif kind in _CALLS:
            self._call(item)

    def done(self) -> list[dict[str, Any]]:
        self._release()
        return answers_first(self.out)

    def _release(self) -> None:
        if self._held:
            self.out.append({"role": "user", "content": self._held})
            self._held = []

    def _message(self, item: dict[str, Any]) -> None:
        role, content = item["role"], item.get("content")
        if role in ("system", "developer"):
            self.out.append({"role": "system", "content": _text(content)})
        elif role == "assistant":
            self.out.append({"role": "assistant", "content": _text(content, "")})
        elif isinstance(content, str):
            self.out.append({"role": "user", "content": content})
        else:
            parts = _parts(content) if isinstance(content, list) else []
            self.out.append({"role": "user", "content": parts or ""})

    def _call(self, item: dict[str, Any]) -> None:
        namespace = item.get("namespace")
        name = self._names.chat_name(
            item["name"], namespace if isinstance(namespace, str) else None
        )
        if item["type"] == "custom_tool_call":
            arguments = orjson.dumps({"input": str(item.get("input") or "")}).decode()
        else:
            arguments = str(item.get("arguments") or "{}")
        function = {"name": name, "arguments": arguments}
        call = {"id": item["call_id"], "type": "function", "function": function}
        last = self.out[-1] if self.out else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.out.append(last)
        last["content"] = last["content"] or None
        last.setdefault("tool_calls", []).append(call)

    def _output(self, item: dict[str, Any]) -> None:
        output = item.get("output")
        if isinstance(output, list):
            parts = _parts(output)
            self._held += [p for p in parts if p["type"] != "text"]
        message = {"role": "tool", "tool_call_id": item["call_id"], "content": _text(output)}
        self.out.append(message)


def chat_messages(request: ResponsesRequest, names: ToolNames) -> list[dict[str, Any]]:
    messages = _Messages(names)
    if request.instructions is not None:
        messages.out.append({"role": "system", "content": request.instructions})
    for item in request.conversation:
        messages.add(item)
    return messages.done()


def declared_tools(request: ResponsesRequest) -> list[Any]:
    """The request's tools, then those of its ``additional_tools`` items."""
    found = list(request.body.get("tools") or ())
    for item in request.conversation:
        if item.get("type") == "additional_tools":
            found += item.get("tools") or ()
    return found


def _response_format(request: ResponsesRequest) -> dict[str, Any] | None:
    text = request.body.get("text")
    found = text.get("format") if isinstance(text, dict) else None
    if isinstance(found, dict) and found.get("type") == "json_object":
        return {"type": "json_object"}
    spec = request.text_format
    if spec is None:
        return None
    schema: dict[str, Any] = {"name": str(spec.get("name") or "output")}
    schema["schema"] = spec.get("schema") or {"type": "object", "properties": {}}
    for name in ("description", "strict"):
        if spec.get(name) is not None:
            schema[name] = spec[name]
    return {"type": "json_schema", "json_schema": schema}


def _effort(body: dict[str, Any]) -> str | None:
    reasoning = body.get("reasoning") or {}
    return _EFFORTS.get(str(reasoning.get("effort")))


def translate(request: ResponsesRequest, model: Model) -> Translation:
    """The chat request for ``model`` (its features decide reasoning), and how to answer it."""
    body = request.body
    reasoning = "reasoning" in model.supported_features
    tools = chat_tools(declared_tools(request), body.get("tool_choice"))
    out: dict[str, Any] = {"model": request.model, "messages": chat_messages(request, tools.names)}
    if tools.tools:
        out["tools"] = tools.tools
        if tools.choice is not None:
            out["tool_choice"] = tools.choice
        if isinstance(body.get("parallel_tool_calls"), bool):
            out["parallel_tool_calls"] = body["parallel_tool_calls"]
    max_tokens = body.get("max_output_tokens")
    if isinstance(max_tokens, int):
        if model.context_length:
            max_tokens = min(max_tokens, model.context_length)
        out["max_completion_tokens" if reasoning else "max_tokens"] = max_tokens
    for name in _KEPT:
        if body.get(name) is not None:
            out[name] = body[name]
    effort = _effort(body) if reasoning else None
    if effort is not None:
        out["reasoning_effort"] = effort
    response_format = _response_format(request)
    if response_format is not None:
        out["response_format"] = response_format
    if request.stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    chat = ChatRequest(out, request.model, request.stream, request.stream, request.modalities)
    return Translation(chat, tools.names, tools.dropped)
