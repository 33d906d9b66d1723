"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, Groq, Together, DeepSeek, Mistral, …

Requests go out as they came in, with the upstream's model name and, for
streams, ``stream_options.include_usage`` so the gateway can bill them; answers
come back byte for byte, except the usage-only chunk of a stream, which the
client gets only if it asked for it.
"""

from __future__ import annotations

from typing import Any

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.providers.base import (
    Provider,
    StreamTranslator,
    UpstreamCall,
    Usage,
    event_data,
)
from quantized.gateway.request import ChatRequest

_JSON = (b"content-type", b"application/json")
_IDENTITY = (b"accept-encoding", b"identity")


def read_usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        cached_tokens=int(cached or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


class OpenAIStream(StreamTranslator):
    def __init__(self, forward_usage: bool) -> None:
        super().__init__()
        self._forward_usage = forward_usage

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is None or payload == b"[DONE]":
            return []
        if (
            b'"usage"' in payload
            and b'"usage":null' not in payload
            and (b'"usage": null' not in payload)
        ):
            data = orjson.loads(payload)
            self.usage = read_usage(data) or self.usage
            if not self._forward_usage and not data.get("choices"):
                return []
        elif b'"content"' in payload or b'"arguments"' in payload:
            self.chunks += 1
        return [b"data: " + payload + b"\n\n"]


class OpenAIProvider(Provider):
    name = "openai"

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = dict(request.body)
        body["model"] = upstream.model
        if request.stream:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        headers = [_JSON, _IDENTITY]
        if api_key is not None:
            headers.append((b"authorization", b"Bearer " + api_key.encode()))
        url = upstream.base_url.rstrip("/") + "/chat/completions"
        return UpstreamCall(url, headers, orjson.dumps(body))

    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        try:
            usage = read_usage(orjson.loads(body))
        except orjson.JSONDecodeError:
            usage = None
        return body, usage or Usage()

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return OpenAIStream(forward_usage=request.include_usage)
