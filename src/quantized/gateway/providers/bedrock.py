"""AWS Bedrock's Converse and ConverseStream APIs, translated both ways.

Requests go to ``POST {base_url}/model/{model}/converse`` (``…/converse-stream`` for
streams), the model id (or inference profile id or ARN) percent-encoded in the path;
``base_url`` is ``https://bedrock-runtime.REGION.amazonaws.com`` (or a VPC endpoint),
and the region is the catalog's ``region``, else read from the host. The body is
built by :mod:`.bedrock_request`; whole answers are read by :mod:`.bedrock_answer`
and streams (AWS event-stream framing) by :mod:`.bedrock_stream`.

``auth: sigv4`` (the default) signs each request with the process's AWS credentials
(:mod:`.bedrock_auth`: the standard chain, fetched and refreshed off the event loop
in :meth:`BedrockProvider.prepare`); ``auth: api-key`` sends the Bedrock API key in
``api_key_env`` as a bearer token. Errors are JSON ``{"message": …}`` bodies, which
:func:`~.base.error_message` reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

from quantized.catalog.model import Upstream
from quantized.errors import BadGatewayError
from quantized.gateway.providers.base import CredentialsUnavailable, Provider, json_answer
from quantized.gateway.providers.bedrock_answer import translate_answer
from quantized.gateway.providers.bedrock_auth import AwsCredentials, region_of, signed_headers
from quantized.gateway.providers.bedrock_request import converse_body
from quantized.gateway.providers.bedrock_stream import BedrockStream
from quantized.gateway.streams import StreamTranslator, UpstreamCall, Usage

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest

_IDENTITY = (b"accept-encoding", b"identity")


def uses_api_key(upstream: Upstream) -> bool:
    return upstream.auth == "api-key"


def converse_url(upstream: Upstream, stream: bool) -> str:
    action = "converse-stream" if stream else "converse"
    return f"{upstream.base_url.rstrip('/')}/model/{quote(upstream.model, safe='')}/{action}"


class BedrockProvider(Provider):
    name = "bedrock"

    def __init__(self, credentials: AwsCredentials | None = None) -> None:
        self.credentials = credentials or AwsCredentials()

    async def prepare(self, upstream: Upstream, api_key: str | None) -> None:
        if uses_api_key(upstream):
            if api_key is None:
                raise CredentialsUnavailable(
                    "auth: api-key needs a Bedrock API key in the variable api_key_env names"
                )
            return
        if region_of(upstream) is None:
            raise CredentialsUnavailable(
                "its AWS region is unknown: set the upstream's region (the base URL's host "
                "does not name one)"
            )
        await self.credentials.ensure()

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = orjson.dumps(converse_body(request, upstream.model))
        url = converse_url(upstream, request.stream)
        if uses_api_key(upstream):
            headers = [(b"content-type", b"application/json")]
            headers.append((b"authorization", b"Bearer " + (api_key or "").encode()))
        else:
            region, credentials = region_of(upstream), self.credentials.current()
            if region is None or credentials is None:  # prepare() makes sure of both
                raise BadGatewayError("The gateway has no AWS credentials for this upstream.")
            headers = signed_headers(credentials, region, url, body)
        return UpstreamCall(url, [*headers, _IDENTITY], body)

    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        answer, usage = translate_answer(
            json_answer(body), request.model, request.wants_json_schema
        )
        return orjson.dumps(answer), usage

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return BedrockStream(request.model, request.include_usage, request.wants_json_schema)
