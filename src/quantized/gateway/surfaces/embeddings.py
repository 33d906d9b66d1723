"""OpenAI's embeddings API (``POST /v1/embeddings``) as a surface of the pipeline.

A request is checked enough to route and bill it — ``input`` a non-empty string,
a non-empty list of them, a token array (a non-empty list of integers) or a
non-empty list of token arrays; ``encoding_format`` ``float`` or ``base64``;
``dimensions`` a positive integer — and passed on with only the model replaced
by the upstream's name (fields the gateway does not know go untouched) to
``POST {base_url}/embeddings`` (an Azure OpenAI upstream: its deployment's
``…/embeddings``, see :meth:`~.providers.azure.AzureProvider.embeddings_call`). The
catalog allows only OpenAI-compatible and Azure OpenAI upstreams for a model that
serves embeddings (``catalog.schema``): Anthropic has no such API.

The answer is relayed byte for byte. Its vectors can be megabytes and are never
parsed: only ``usage`` is read, from the end of the body, where OpenAI-compatible
servers put it after the vectors (:func:`reported_usage`). An answer that reports
no usage (or none of its input tokens) is billed at an estimate — about four
characters a token of text, one a token of a token array — and its ledger row
says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from quantized.errors import InvalidRequestError
from quantized.gateway.providers.azure import AzureProvider
from quantized.gateway.providers.openai import openai_call, read_usage
from quantized.gateway.streams import (
    Headers,
    StreamTranslator,
    UpstreamCall,
    Usage,
    invalid_response,
)
from quantized.gateway.surfaces.base import Surface
from quantized.payloads import MAX_COUNT, check_count, load_object

if TYPE_CHECKING:
    from quantized.gateway.router import Route

KINDS = (
    "a non-empty string, a non-empty list of non-empty strings, a token array (a non-empty "
    "list of integers from 0) or a non-empty list of token arrays"
)
ENCODINGS = ("float", "base64")
_USAGE = b'"usage"'
_USAGE_WINDOW = 4096
"""How much of the body after ``"usage"`` may hold its value (a few dozen bytes, in practice)."""
_DECODER = json.JSONDecoder()


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


@dataclass(slots=True)
class EmbeddingsRequest:
    """The decoded body plus what the pipeline needs to know about it (never streamed, no
    modalities, tools or structured output)."""

    body: dict[str, Any]
    model: str
    stream: bool = False
    modalities: dict[str, str] = field(default_factory=dict)
    uses_tools: bool = False
    wants_json_schema: bool = False
    json_schema_param: str = ""
    max_output_tokens: int | None = 0

    def estimated_tokens(self) -> int:
        """The input at about four characters a token (at least one an input), or the length
        of its token arrays."""
        value = self.body["input"]
        if isinstance(value, str):
            return max(1, len(value) // 4)
        if not isinstance(value[0], str | list):  # one token array
            return len(value)
        return sum(max(1, len(item) // 4) if isinstance(item, str) else len(item) for item in value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _token(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


def _tokens(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if any(type(token) is float for token in value):  # JSON's 54.0 is the integer 54
        value[:] = [_whole(token) for token in value]
    return all(type(token) is int for token in value) and 0 <= min(value) <= max(value) <= (
        MAX_COUNT
    )


def _whole(token: Any) -> Any:
    """An integral float as the integer it is (sent on as such); anything else unchanged."""
    if type(token) is float and token.is_integer() and abs(token) <= MAX_COUNT:
        return int(token)
    return token


def check_input(value: Any) -> None:
    """``input`` is one of :data:`KINDS`, or a 400 naming it (or the item at fault)."""
    if isinstance(value, str):
        if not value:
            raise _invalid("input must not be an empty string", "input")
        return
    if not isinstance(value, list) or not value:
        what = "is required:" if value is None else "must be"
        raise _invalid(f"input {what} {KINDS}", "input")
    if _tokens(value):  # one token array, checked at once
        return
    if any(type(item) is float for item in value):
        value[:] = [_whole(item) for item in value]
    first = value[0]
    ok, what = (
        (_text, "a non-empty string")
        if isinstance(first, str)
        else (_tokens, "a non-empty token array")
        if isinstance(first, list)
        else (_token, "a token (an integer from 0)")
    )
    for index, item in enumerate(value):
        if not ok(item):
            raise _invalid(
                f"input[{index}] must be {what}, as input[0] is (input is {KINDS})",
                f"input[{index}]",
            )


def parse_embeddings_request(data: bytes | bytearray) -> EmbeddingsRequest:
    body = load_object(data, stored=False)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model is required: a model id from GET /v1/models", "model")
    check_input(body.get("input"))
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ENCODINGS:
        raise _invalid("encoding_format must be float or base64", "encoding_format")
    check_count(body, "dimensions")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise _invalid("user must be a string", "user")
    return EmbeddingsRequest(body, model)


def _escaped(body: bytes, at: int) -> bool:
    """Whether the quote at ``at`` is escaped (inside a string): an odd run of backslashes."""
    start = at
    while start > 0 and body[start - 1] == 0x5C:
        start -= 1
    return (at - start) % 2 == 1


def reported_usage(body: bytes) -> Usage | None:
    """The usage in an embeddings answer, read from its last ``"usage":`` member alone (the
    vectors before it are not parsed); ``None`` if it has none (or it is not an object)."""
    end = len(body)
    while (at := body.rfind(_USAGE, 0, end)) != -1:
        end = at
        after = at + len(_USAGE)
        rest = body[after : after + _USAGE_WINDOW].lstrip()
        if _escaped(body, at) or not rest.startswith(b":"):
            continue  # the text "usage" in a string, not a member
        try:
            value, _ = _DECODER.raw_decode(rest[1:].decode("utf-8", "replace").lstrip())
        except ValueError:
            return None
        return read_usage({"usage": value})
    return None


def _check_object(body: bytes) -> None:
    """An answer that is not a JSON object (an HTML error page, say) is the upstream's fault;
    looked at by its ends only."""
    if not body[:64].lstrip().startswith(b"{") or not body[-64:].rstrip().endswith(b"}"):
        raise invalid_response("the body is not a JSON object")


class Embeddings(Surface[EmbeddingsRequest]):
    name = "embeddings"
    endpoint = "embeddings"

    def parse(self, body: bytes | bytearray, headers: Headers) -> EmbeddingsRequest:
        return parse_embeddings_request(body)

    def call(self, request: EmbeddingsRequest, route: Route) -> UpstreamCall:
        body = dict(request.body)
        if isinstance(route.provider, AzureProvider):
            return route.provider.embeddings_call(body, route.upstream, route.api_key)
        body["model"] = route.upstream.model
        return openai_call(route.upstream, route.api_key, "/embeddings", orjson.dumps(body))

    def whole(self, request: EmbeddingsRequest, route: Route, body: bytes) -> tuple[bytes, Usage]:
        _check_object(body)
        usage = reported_usage(body)
        if usage is None or usage.prompt_tokens == 0:  # no input is zero tokens
            return body, Usage(prompt_tokens=request.estimated_tokens(), estimated=True)
        return body, usage

    def stream(self, request: EmbeddingsRequest, route: Route) -> StreamTranslator:
        raise AssertionError("embeddings are never streamed")  # pragma: no cover

    def estimate(self, request: EmbeddingsRequest, translator: StreamTranslator) -> Usage:
        raise AssertionError("embeddings are never streamed")  # pragma: no cover


EMBEDDINGS = Embeddings()
