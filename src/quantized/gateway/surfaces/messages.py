"""Anthropic's Messages API (``POST /v1/messages``, ``…/count_tokens``) as surfaces of the pipeline.

For an Anthropic upstream the request is passed through: the client's body with
only the model replaced by the upstream's name, its ``anthropic-version`` and
``anthropic-beta`` headers unchanged, and the answer relayed byte for byte (the
stream event by event), so every Anthropic feature works as it does there.

For any other upstream the request is translated into OpenAI's chat completions
format (``quantized.gateway.messages.to_chat``), sent through that upstream's
provider like any chat completion, and the answer translated back
(``quantized.gateway.messages.from_chat``).

``count_tokens`` is forwarded to an Anthropic upstream, and estimated for any
other (about four characters a token); the ``x-quantized-token-count`` header
says which (``upstream`` or ``estimate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from quantized.gateway.messages.from_chat import MessagesFromChat, whole_message
from quantized.gateway.messages.relay import MessagesRelay
from quantized.gateway.messages.request import Headers, MessagesRequest, parse_messages_request
from quantized.gateway.messages.to_chat import chat_request
from quantized.gateway.providers.anthropic import anthropic_usage_of, messages_call
from quantized.gateway.providers.base import json_answer
from quantized.gateway.streams import StreamTranslator, UpstreamCall, Usage
from quantized.gateway.surfaces.base import Surface
from quantized.gateway.surfaces.chat import ChatRequest

if TYPE_CHECKING:
    from quantized.gateway.router import Route


def passthrough(request: MessagesRequest, route: Route, path: str) -> UpstreamCall:
    """The client's request for an Anthropic upstream: its body and headers, but the model."""
    body = without_unsigned_thinking(request.body)
    body["model"] = route.upstream.model
    return messages_call(route.upstream, route.api_key, path, orjson.dumps(body), request.headers)


def without_unsigned_thinking(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` without the thinking blocks no Anthropic model signed.

    Another upstream's reasoning comes back as a thinking block with an empty
    signature (see ``from_chat``); sent to Anthropic in a later turn (the caller
    switched models, or the model fell back to another upstream) it would make every
    later request a 400. Such blocks are dropped; if the last assistant turn had one,
    extended thinking is off for this request, since Anthropic then expects that turn
    to start with a signed thinking block.
    """
    messages = body["messages"]
    unsigned = [
        index
        for index, message in enumerate(messages)
        if message.get("role") == "assistant"
        and isinstance(message.get("content"), list)
        and any(_unsigned(block) for block in message["content"])
    ]
    if not unsigned:
        return dict(body)
    kept = [
        {**m, "content": [b for b in m["content"] if not _unsigned(b)]} if i in unsigned else m
        for i, m in enumerate(messages)
    ]
    last = max(i for i, m in enumerate(messages) if m.get("role") == "assistant")
    found = {**body, "messages": kept}
    if last in unsigned:
        found.pop("thinking", None)
    return found


def _unsigned(block: Any) -> bool:
    return (
        isinstance(block, dict) and block.get("type") == "thinking" and not block.get("signature")
    )


def is_anthropic(route: Route) -> bool:
    return route.upstream.provider == "anthropic"


def as_chat(request: MessagesRequest, route: Route) -> ChatRequest:
    """The request in OpenAI's format (translated once: it depends on the model, not the route)."""
    if request.chat is None:
        request.chat = chat_request(request, route.model)
    return request.chat  # type: ignore[no-any-return]


class Messages(Surface[MessagesRequest]):
    name = "messages"
    endpoint = "messages"

    def parse(self, body: bytes | bytearray, headers: Headers) -> MessagesRequest:
        return parse_messages_request(body, headers)

    def call(self, request: MessagesRequest, route: Route) -> UpstreamCall | None:
        if is_anthropic(route):
            return passthrough(request, route, "/v1/messages")
        return route.provider.call(as_chat(request, route), route.upstream, route.api_key)

    def whole(self, request: MessagesRequest, route: Route, body: bytes) -> tuple[bytes, Usage]:
        if is_anthropic(route):
            return body, anthropic_usage_of(json_answer(body).get("usage"))
        completion, usage = route.provider.completion(as_chat(request, route), body)
        return whole_message(completion, usage, request.model), usage

    def stream(self, request: MessagesRequest, route: Route) -> StreamTranslator:
        if is_anthropic(route):
            return MessagesRelay()
        inner = route.provider.translator(as_chat(request, route))
        return MessagesFromChat(inner, request.model, request.estimated_input_tokens())

    def estimate(self, request: MessagesRequest, translator: StreamTranslator) -> Usage:
        """The input at about four characters a token, one output token per delta sent."""
        return Usage(
            prompt_tokens=request.estimated_input_tokens(), completion_tokens=translator.chunks
        )


class CountTokens(Messages):
    name = "messages.count_tokens"

    def parse(self, body: bytes | bytearray, headers: Headers) -> MessagesRequest:
        return parse_messages_request(body, headers, counting=True)

    def call(self, request: MessagesRequest, route: Route) -> UpstreamCall | None:
        if is_anthropic(route):
            return passthrough(request, route, "/v1/messages/count_tokens")
        return None  # answered here: see whole()

    def whole(self, request: MessagesRequest, route: Route, body: bytes) -> tuple[bytes, Usage]:
        if is_anthropic(route):
            json_answer(body)  # an answer the client can read, or a 502
            return body, Usage()
        return orjson.dumps({"input_tokens": request.estimated_input_tokens()}), Usage()

    def headers(self, request: MessagesRequest, route: Route) -> Headers:
        how = b"upstream" if is_anthropic(route) else b"estimate"
        return [(b"x-quantized-token-count", how)]


MESSAGES = Messages()
COUNT_TOKENS = CountTokens()
