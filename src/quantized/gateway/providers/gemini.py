"""Google Gemini's native API (``generateContent``), translated both ways.

The upstream's ``base_url`` is the API's root: ``https://generativelanguage.googleapis.com/
v1beta`` (the Gemini API) or ``https://aiplatform.googleapis.com/v1/publishers/google``
(Vertex AI express mode); calls go to ``{base_url}/models/{model}:generateContent``, or
``:streamGenerateContent?alt=sse`` for streams, with the key in the ``x-goog-api-key``
header (never in the URL, which reaches logs). Requests: see :mod:`.gemini_request`.

Answers: each candidate becomes a choice; its text parts join into ``content``, its
thought parts into ``reasoning_content``, its ``functionCall`` parts become
``tool_calls`` (ids generated, the ``thoughtSignature`` kept in
``extra_content.google.thought_signature`` for the client to send back). Finish
reasons: ``STOP`` → ``stop`` (``tool_calls`` when the candidate called tools),
``MAX_TOKENS`` → ``length``, the safety ones → ``content_filter``, anything else →
``stop``. A prompt Gemini blocks (``promptFeedback.blockReason``, no candidates) is a
400 ``content_filter`` naming the reason. Usage: prompt tokens are ``promptTokenCount``
(cached ones included) plus ``toolUsePromptTokenCount``; ``cachedContentTokenCount``
is ``cached_tokens``; completion tokens are ``candidatesTokenCount`` plus
``thoughtsTokenCount`` (thinking is billed as output), the latter also reported as
``completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.providers.base import Provider, json_answer
from quantized.gateway.providers.gemini_answer import translate_answer
from quantized.gateway.providers.gemini_request import gemini_body
from quantized.gateway.providers.gemini_stream import GeminiStream
from quantized.gateway.streams import StreamTranslator, UpstreamCall, Usage

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest


def gemini_call(upstream: Upstream, api_key: str | None, method: str, body: bytes) -> UpstreamCall:
    """A call to ``{base_url}/models/{model}:{method}``, the key in ``x-goog-api-key``."""
    model = quote(upstream.model.removeprefix("models/"), safe="@")
    headers = [(b"content-type", b"application/json"), (b"accept-encoding", b"identity")]
    if api_key is not None:
        headers.append((b"x-goog-api-key", api_key.encode()))
    return UpstreamCall(f"{upstream.base_url.rstrip('/')}/models/{model}:{method}", headers, body)


class GeminiProvider(Provider):
    name = "gemini"

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = orjson.dumps(gemini_body(request, upstream.model))
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return gemini_call(upstream, api_key, method, body)

    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        answer, usage = translate_answer(json_answer(body))
        return orjson.dumps(answer), usage

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return GeminiStream(request.include_usage)
