"""OpenAI's chat completions (``POST /v1/chat/completions``) as a surface of the pipeline.

A request is checked enough to route and bill it, and passed on intact: fields
the gateway does not know are forwarded untouched (providers add parameters all
the time); the ones it relies on are checked here, and a malformed request gets
a 400 naming the field before any upstream is called. Answers are in this API's
own format already: each provider translates its upstream's answer into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quantized.errors import InvalidRequestError
from quantized.gateway.streams import Headers, StreamTranslator, UpstreamCall, Usage
from quantized.gateway.surfaces.base import Surface
from quantized.payloads import check_count, check_kinds, load_object

if TYPE_CHECKING:
    from quantized.gateway.router import Route

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
    def json_schema_param(self) -> str:
        return "response_format"

    @property
    def max_output_tokens(self) -> int | None:
        body = self.body
        bound = body.get("max_completion_tokens") or body.get("max_tokens")
        return bound * (body.get("n") or 1) if bound is not None else None

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


def parse_chat_request(data: bytes | bytearray) -> ChatRequest:
    body = load_object(data, stored=False)
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
        if not isinstance(role, str) or role not in ROLES:
            raise _invalid(f"role must be one of {', '.join(sorted(ROLES))}", f"{where}.role")
        _content_modalities(message.get("content"), f"{where}.content", modalities)
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise _invalid("stream must be true or false", "stream")
    check_kinds(body, {"tools": list, "response_format": dict, "stream_options": dict})
    for name in ("max_tokens", "max_completion_tokens", "n"):
        check_count(body, name)
    options = body.get("stream_options") or {}
    include_usage = stream and options.get("include_usage") is True
    return ChatRequest(body, model, stream, include_usage, modalities)


class ChatCompletions(Surface[ChatRequest]):
    name = "chat.completions"
    endpoint = "chat"

    def parse(self, body: bytes | bytearray, headers: Headers) -> ChatRequest:
        return parse_chat_request(body)

    def call(self, request: ChatRequest, route: Route) -> UpstreamCall:
        return route.provider.call(request, route.upstream, route.api_key)

    def whole(self, request: ChatRequest, route: Route, body: bytes) -> tuple[bytes, Usage]:
        return route.provider.completion(request, body)

    def stream(self, request: ChatRequest, route: Route) -> StreamTranslator:
        return route.provider.translator(request)

    def estimate(self, request: ChatRequest, translator: StreamTranslator) -> Usage:
        """The prompt at about four characters a token, one completion token per chunk sent."""
        prompt_chars = sum(len(str(m.get("content") or "")) for m in request.messages)
        return Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=translator.chunks)


CHAT_COMPLETIONS = ChatCompletions()
