"""A chat-completion request, checked enough to route and bill it, passed on intact.

Fields the gateway does not know are forwarded untouched (providers add
parameters all the time); the ones it relies on are checked here, and a
malformed request gets a 400 naming the field before any upstream is called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from quantized.errors import InvalidRequestError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_PART_MODALITY = {
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
    "video_url": "video",
    "input_video": "video",
}


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


@dataclass(slots=True)
class ChatRequest:
    """The decoded body plus what the gateway needs to know about it."""

    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    modalities: dict[str, str]
    """Non-text input modalities used, each with the param of its first use."""

    @property
    def uses_tools(self) -> bool:
        return bool(self.body.get("tools"))

    @property
    def wants_json_schema(self) -> bool:
        response_format = self.body.get("response_format")
        return isinstance(response_format, dict) and response_format.get("type") == "json_schema"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]  # type: ignore[no-any-return]


def _content_modalities(content: Any, param: str, found: dict[str, str]) -> None:
    if isinstance(content, str) or content is None:
        return
    if not isinstance(content, list):
        raise _invalid("content must be a string or a list of content parts", param)
    for index, part in enumerate(content):
        where = f"{param}[{index}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _invalid("each content part must be an object with a type", where)
        modality = _PART_MODALITY.get(part["type"])
        if modality is not None:
            found.setdefault(modality, where)


_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
"""``\u0000`` as an escape (after an even number of backslashes), not the text ``\\u0000``."""


def contains_nul(data: bytes) -> bool:
    """Whether JSON text encodes a NUL character (which PostgreSQL cannot store)."""
    return b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None


def parse_chat_request(data: bytes) -> ChatRequest:
    if contains_nul(data):
        raise InvalidRequestError("request body contains a NUL character", code="invalid_json")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequestError("request body must be a JSON object", code="invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model is required: a model id from GET /v1/models", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages is required: a non-empty list of messages", "messages")
    modalities: dict[str, str] = {}
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid("each message must be an object", where)
        role = message.get("role")
        if role not in ROLES:
            raise _invalid(f"role must be one of {', '.join(sorted(ROLES))}", f"{where}.role")
        _content_modalities(message.get("content"), f"{where}.content", modalities)
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise _invalid("stream must be true or false", "stream")
    for name, kind in (("tools", list), ("response_format", dict), ("stream_options", dict)):
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            raise _invalid(f"{name} must be {'a list' if kind is list else 'an object'}", name)
    for name in ("max_tokens", "max_completion_tokens", "n"):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise _invalid(f"{name} must be a positive integer", name)
    options = body.get("stream_options") or {}
    include_usage = stream and options.get("include_usage") is True
    return ChatRequest(body, model, stream, include_usage, modalities)
