"""A Responses API request (``POST /v1/responses``), checked enough to route and bill it.

The body is kept as the client sent it: an upstream that serves the Responses
API itself receives it verbatim but for the model name, so fields and tool types
the gateway does not know keep working. What the gateway relies on is checked
here, and a malformed request gets a 400 naming the field before any upstream
is called.

``input`` is a string or a list of items. Every item is normalised into
:attr:`ResponsesRequest.items` (a string becomes one user message); a message
may come without ``type`` (OpenAI's "easy input message"). When the request
continues a stored response (``previous_response_id``), :attr:`history` holds
the conversation before it (see ``quantized.gateway.responses.stored``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from quantized.errors import InvalidRequestError
from quantized.payloads import check_count, check_kinds, load_object

ROLES = frozenset({"user", "assistant", "system", "developer"})
_PART_MODALITY = {"input_image": "image", "input_file": "image", "input_audio": "audio"}
"""A file is a PDF or an image for the providers that take one: read as images."""
ID_PATTERN_MAX = 256


def invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


@dataclass(slots=True)
class ResponsesRequest:
    """The decoded body, its input as items, and what the pipeline needs to know."""

    body: dict[str, Any]
    model: str
    stream: bool
    store: bool
    """Keep the response for ``GET /v1/responses/{id}`` and ``previous_response_id``
    (OpenAI's default is true)."""
    items: list[dict[str, Any]]
    """This request's own input, as items."""
    modalities: dict[str, str]
    previous_response_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    """The items of the stored conversation this request continues (inputs and outputs
    of earlier responses), empty unless ``previous_response_id`` was given."""
    translation: Any = None
    """The request as translated for a chat-completions upstream, once made."""
    result: dict[str, Any] | None = None
    """The whole response object answered, to store."""
    streamed: Any = None
    """The stream's translator, whose ``response`` is the object answered at its end."""

    @property
    def uses_tools(self) -> bool:
        return bool(self.body.get("tools")) or any(
            item.get("type") == "additional_tools" for item in self.items
        )

    @property
    def wants_json_schema(self) -> bool:
        return self.text_format is not None

    @property
    def max_output_tokens(self) -> int | None:
        bound = self.body.get("max_output_tokens")
        return bound if isinstance(bound, int) else None

    @property
    def json_schema_param(self) -> str:
        return "text.format"

    @property
    def text_format(self) -> dict[str, Any] | None:
        """``text.format`` when it asks for JSON following a schema."""
        text = self.body.get("text")
        found = text.get("format") if isinstance(text, dict) else None
        if isinstance(found, dict) and found.get("type") == "json_schema":
            return found
        return None

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """Every item the model reads: the stored history, then this request's input."""
        return [*self.history, *self.items] if self.history else self.items

    @property
    def instructions(self) -> str | None:
        found = self.body.get("instructions")
        return found if isinstance(found, str) and found else None

    def estimated_input_tokens(self) -> int:
        """Input tokens at about four characters a token: instructions, items and tools."""
        chars = len(self.instructions or "")
        for item in self.conversation:
            chars += len(text_of(item))
        for tool in self.body.get("tools") or ():
            chars += len(orjson.dumps(tool))
        return max(1, chars // 4)


def text_of(item: dict[str, Any]) -> str:
    """The text a model reads in one input item."""
    kind = item.get("type") or "message"
    if kind == "message":
        content = item.get("content")
        if isinstance(content, str):
            return content
        return "".join(
            str(part.get("text") or "")
            for part in content or ()
            if isinstance(part, dict) and part.get("type") in ("input_text", "output_text")
        )
    if kind == "function_call":
        return str(item.get("arguments") or "")
    if kind == "custom_tool_call":
        return str(item.get("input") or "")
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        return output if isinstance(output, str) else orjson.dumps(output).decode()
    if kind == "additional_tools":
        return orjson.dumps(item.get("tools") or []).decode()
    return ""


def _check_message(item: dict[str, Any], where: str, found: dict[str, str]) -> None:
    role = item.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise invalid(f"role must be one of {', '.join(sorted(ROLES))}", f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid("content must be a string or a list of content parts", f"{where}.content")
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise invalid("each content part must be an object with a type", at)
        modality = _PART_MODALITY.get(part["type"])
        if modality is not None:
            found.setdefault(modality, at)


def _check_item(item: Any, where: str, found: dict[str, str]) -> None:
    if not isinstance(item, dict):
        raise invalid("each input item must be an object", where)
    kind = item.get("type") or "message"
    if not isinstance(kind, str):
        raise invalid("an input item's type must be a string", f"{where}.type")
    if kind == "message":
        _check_message(item, where, found)
    elif kind in ("function_call", "custom_tool_call"):
        if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
            raise invalid(f"a {kind} item needs a call_id and a name", where)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        if not isinstance(item.get("call_id"), str):
            raise invalid(f"a {kind} item needs the call_id it answers", f"{where}.call_id")
        if not isinstance(item.get("output"), str | list):
            raise invalid("output must be a string or a list of content parts", f"{where}.output")
    elif kind == "additional_tools":
        if not isinstance(item.get("tools"), list):
            raise invalid("an additional_tools item needs a list of tools", f"{where}.tools")
        _check_tools(item["tools"], f"{where}.tools")


def _check_tools(tools: list[Any], where: str) -> None:
    """Each tool is an object with a type; a namespace's tools are such a list too."""
    for index, tool in enumerate(tools):
        at = f"{where}[{index}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise invalid("each tool must be an object with a type", at)
        if tool["type"] == "namespace":
            if not isinstance(tool.get("name"), str) or not isinstance(tool.get("tools"), list):
                raise invalid("a namespace tool needs a name and a list of tools", at)
            _check_tools(tool["tools"], f"{at}.tools")


def _check_tool_choice(choice: Any) -> None:
    if choice is None or isinstance(choice, str):
        return
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise invalid("tool_choice must be a string or an object with a type", "tool_choice")
    if choice["type"] == "allowed_tools":
        allowed = choice.get("tools")
        if not isinstance(allowed, list) or not all(
            isinstance(tool, dict) and isinstance(tool.get("namespace", ""), str)
            for tool in allowed
        ):
            raise invalid("allowed_tools needs a list of tools", "tool_choice.tools")


def _items(value: Any, found: dict[str, str]) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid("input is required: a string or a list of input items", "input")
    for index, item in enumerate(value):
        _check_item(item, f"input[{index}]", found)
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false", name)
    return value


def parse_responses_request(data: bytes | bytearray) -> ResponsesRequest:
    body = load_object(data, stored=False)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model is required: a model id from GET /v1/models", "model")
    modalities: dict[str, str] = {}
    items = _items(body.get("input", [] if body.get("previous_response_id") else None), modalities)
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid("instructions must be a string", "instructions")
    previous = body.get("previous_response_id")
    if previous is not None and (
        not isinstance(previous, str) or not previous or len(previous) > ID_PATTERN_MAX
    ):
        raise invalid("previous_response_id must be a response id", "previous_response_id")
    check_kinds(
        body,
        {
            "tools": list,
            "text": dict,
            "reasoning": dict,
            "include": list,
            "metadata": dict,
        },
    )
    check_count(body, "max_output_tokens")
    _check_tools(body.get("tools") or [], "tools")
    _check_tool_choice(body.get("tool_choice"))
    stream, store = _flag(body, "stream", False), _flag(body, "store", True)
    return ResponsesRequest(body, model, stream, store, items, modalities, previous)
