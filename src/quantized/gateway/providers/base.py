"""What every upstream provider implements: build the call, read the answer.

A provider speaks one wire protocol. It turns an OpenAI-format chat request
into the upstream's request, and the upstream's answer (whole, or as a stream)
back into OpenAI's format, reporting the tokens used. An answer it cannot read
raises ``upstream_invalid_response`` (see :func:`~quantized.gateway.streams.invalid_response`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.streams import StreamTranslator, UpstreamCall, Usage, invalid_response

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest


def error_message(body: bytes) -> str:
    """The human message of an upstream error body (OpenAI or Anthropic shape, or text)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or "no details"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:1000] + _filtered(error)
        if isinstance(error, str):
            return error[:1000]
    return body.decode("utf-8", "replace")[:500]


def _filtered(error: dict[str, Any]) -> str:
    """Azure OpenAI's content filter names what it filtered in ``innererror`` only:
    `` (filtered: hate (high), jailbreak)`` makes its message say so."""
    inner = error.get("innererror")
    result = inner.get("content_filter_result") if isinstance(inner, dict) else None
    if not isinstance(result, dict):
        return ""
    found = []
    for name, verdict in list(result.items())[:20]:
        if isinstance(verdict, list):  # custom blocklists: one verdict each
            verdict = {"filtered": any(isinstance(v, dict) and v.get("filtered") for v in verdict)}
        if isinstance(verdict, dict) and verdict.get("filtered") is True:
            severity = verdict.get("severity")
            found.append(f"{name} ({severity})" if isinstance(severity, str) else str(name))
    return f" (filtered: {', '.join(found)[:300]})" if found else ""


def json_answer(body: bytes) -> dict[str, Any]:
    """A whole answer's JSON object, or ``upstream_invalid_response``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise invalid_response("the body is not JSON (or was cut short)") from None
    if not isinstance(data, dict):
        raise invalid_response("the body is not a JSON object")
    return data


class CredentialsUnavailable(Exception):  # noqa: N818 - a state the router reports
    """A provider could not get what it authenticates with (an Entra ID token, AWS
    credentials): the request was not sent, and the router tries the next upstream."""


class Provider(ABC):
    """One upstream wire protocol.

    The runtime makes one instance of each per process (:func:`~quantized.gateway.
    providers.providers`), so a provider may keep what it fetched for its upstreams
    (tokens, credentials) between requests; it holds nothing else.
    """

    name: str

    async def prepare(self, upstream: Upstream, api_key: str | None) -> None:  # noqa: B027
        """Make sure :meth:`call` has what it authenticates with beyond the catalog's key:
        fetch or refresh credentials (off the event loop if that blocks), or raise
        :class:`CredentialsUnavailable`. Called before every call: it must cost nothing
        while what it keeps is fresh."""

    async def close(self) -> None:  # noqa: B027 - most keep nothing
        """Release what the provider holds (at shutdown)."""

    @abstractmethod
    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        """The HTTP request that asks ``upstream`` for this completion."""

    @abstractmethod
    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        """An upstream's whole answer as an OpenAI ``chat.completion`` body, with its usage."""

    @abstractmethod
    def translator(self, request: ChatRequest) -> StreamTranslator:
        """A translator for one streamed answer."""
