"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, Together, DeepSeek, Mistral, …

Requests go out as they came in, with the upstream's model name and, for
streams, ``stream_options.include_usage`` so the gateway can bill them; answers
come back byte for byte, except usage in a stream: a client that did not ask
for it gets no ``usage`` field at all (the usage-only chunk is dropped, and the
field is removed from chunks that also carry choices, as some servers send it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.providers.base import Provider, json_answer
from quantized.gateway.streams import (
    StreamTranslator,
    UpstreamCall,
    Usage,
    event_data,
    json_event,
)

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest

_JSON = (b"content-type", b"application/json")
_IDENTITY = (b"accept-encoding", b"identity")


def token_count(value: Any) -> int:
    """A token count as reported: a non-negative integer (anything else counts as none)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and value.is_integer():
        return max(int(value), 0)
    return 0


def read_usage(data: dict[str, Any]) -> Usage | None:
    """The answer's usage; cache writes as OpenRouter reports them, beside cache reads
    (``prompt_tokens_details.cache_write_tokens``, part of ``prompt_tokens``)."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    if not isinstance(details, dict):
        details = {}
    return Usage(
        prompt_tokens=token_count(usage.get("prompt_tokens")),
        cached_tokens=token_count(details.get("cached_tokens")),
        completion_tokens=token_count(usage.get("completion_tokens")),
        cache_write_tokens=token_count(details.get("cache_write_tokens")),
    )


def openai_call(upstream: Upstream, api_key: str | None, path: str, body: bytes) -> UpstreamCall:
    """A call to an endpoint of an OpenAI-compatible upstream (``path`` under its base URL),
    with the gateway's key as a bearer token."""
    headers = [_JSON, _IDENTITY]
    if api_key is not None:
        headers.append((b"authorization", b"Bearer " + api_key.encode()))
    return UpstreamCall(upstream.base_url.rstrip("/") + path, headers, body)


class OpenAIStream(StreamTranslator):
    def __init__(self, forward_usage: bool) -> None:
        super().__init__()
        self._forward_usage = forward_usage

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is None or payload == b"[DONE]":
            return []
        if b'"usage"' in payload and not (
            self._forward_usage and (b'"usage":null' in payload or b'"usage": null' in payload)
        ):
            data = json_event(payload)
            self.usage = read_usage(data) or self.usage
            if not self._forward_usage and "usage" in data:
                del data["usage"]
                if not data.get("choices"):
                    return []
                payload = orjson.dumps(data)
        if b'"content"' in payload or b'"arguments"' in payload:
            self.chunks += 1
        return [b"data: " + payload + b"\n\n"]


class OpenAIProvider(Provider):
    name = "openai"

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = dict(request.body)
        body["model"] = upstream.model
        if request.stream:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return openai_call(upstream, api_key, "/chat/completions", orjson.dumps(body))

    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        return body, read_usage(json_answer(body)) or Usage()

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return OpenAIStream(forward_usage=request.include_usage)
