"""A Messages API request (``POST /v1/messages``), checked enough to route and bill it.

The body is kept as the client sent it: an Anthropic upstream receives it
verbatim but for the model name, so fields the gateway does not know (new
betas, context management, server tools, citations) keep working. What the
gateway relies on is checked here, and a malformed request gets a 400 naming
the field, in Anthropic's words, before any upstream is called.

Claude Code sends ``role: "system"`` entries inside ``messages`` to newer
models; they are accepted (and passed on, or translated into the system prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from quantized.errors import InvalidRequestError
from quantized.payloads import check_count, check_kinds, load_object

Headers = list[tuple[bytes, bytes]]
ROLES = frozenset({"user", "assistant", "system"})
FORWARDED_HEADERS = (b"anthropic-version", b"anthropic-beta")
"""The client's headers an Anthropic upstream receives unchanged."""
_SOURCE_MODALITY = {"base64": "image", "url": "image", "file": "image"}
"""An image block, or a PDF document (read as pages of images by the providers that
take one); a plain-text document (``source.type`` ``text`` or ``content``) is text."""


def invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


@dataclass(slots=True)
class MessagesRequest:
    """The decoded body, the headers passed on, and what the pipeline needs to know."""

    body: dict[str, Any]
    model: str
    stream: bool
    modalities: dict[str, str]
    headers: Headers
    chat: Any = None
    """The request in OpenAI's format, once translated for a non-Anthropic upstream."""

    @property
    def uses_tools(self) -> bool:
        return bool(self.body.get("tools"))

    @property
    def wants_json_schema(self) -> bool:
        return self.output_format is not None

    @property
    def max_output_tokens(self) -> int | None:
        bound = self.body.get("max_tokens")
        return bound if isinstance(bound, int) else None

    @property
    def json_schema_param(self) -> str:
        return "output_config.format"

    @property
    def output_format(self) -> dict[str, Any] | None:
        """``output_config.format`` (or the older top-level ``output_format``) asking for JSON."""
        config = self.body.get("output_config")
        found = config.get("format") if isinstance(config, dict) else None
        found = found or self.body.get("output_format")
        if isinstance(found, dict) and found.get("type") == "json_schema":
            return found
        return None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]  # type: ignore[no-any-return]

    def estimated_input_tokens(self) -> int:
        """Input tokens at about four characters a token: system, messages and tools."""
        chars = len(_text_of(self.body.get("system")))
        for message in self.messages:
            chars += len(_text_of(message.get("content")))
        for tool in self.body.get("tools") or ():
            chars += len(orjson.dumps(tool))
        return max(1, chars // 4)


def _text_of(content: Any) -> str:
    """The text a model reads in ``content``: strings, text and tool blocks, nested results."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            parts.append(str(block.get("input", "")))
        elif kind == "tool_result":
            parts.append(_text_of(block.get("content")))
        elif kind == "thinking":
            parts.append(str(block.get("thinking", "")))
    return "".join(parts)


def _check_content(content: Any, param: str, found: dict[str, str]) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(f"{param}: content must be a string or a list of content blocks", param)
    for index, block in enumerate(content):
        where = f"{param}.{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise invalid(f"{where}: each content block must be an object with a type", where)
        if block["type"] in ("image", "document"):
            source = block.get("source")
            kind = source.get("type") if isinstance(source, dict) else None
            modality = _SOURCE_MODALITY.get(kind) if isinstance(kind, str) else "image"
            if modality is not None:
                found.setdefault(modality, where)
        if block["type"] == "tool_result" and isinstance(block.get("content"), list):
            _check_content(block["content"], f"{where}.content", found)


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list) or not all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in system
    ):
        raise invalid("system: must be a string or a list of text blocks", "system")


def parse_messages_request(
    data: bytes | bytearray, headers: Headers, *, counting: bool = False
) -> MessagesRequest:
    """The request in ``data``; ``counting`` for ``count_tokens`` (no ``max_tokens``, no stream)."""
    body = load_object(data, stored=False)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required (a model id from GET /v1/models)", "model")
    if not counting:
        check_count(body, "max_tokens", required=True)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: must be a non-empty list of messages", "messages")
    modalities: dict[str, str] = {}
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise invalid(f"{where}: each message must be an object", where)
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise invalid(f"{where}.role: must be 'user', 'assistant' or 'system'", f"{where}.role")
        _check_content(message.get("content"), f"{where}.content", modalities)
    _check_system(body.get("system"))
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise invalid("stream: must be true or false", "stream")
    check_kinds(
        body,
        {
            "tools": list,
            "tool_choice": dict,
            "thinking": dict,
            "metadata": dict,
            "output_config": dict,
            "stop_sequences": list,
        },
    )
    for index, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise invalid(f"tools.{index}: each tool must be an object with a name", "tools")
    kept = [(name, value) for name, value in headers if name in FORWARDED_HEADERS]
    return MessagesRequest(body, model, stream and not counting, modalities, kept)
