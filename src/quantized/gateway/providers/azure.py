"""Azure OpenAI: OpenAI's chat completions, sent to a deployment.

The upstream's ``base_url`` is the resource's endpoint (``https://NAME.openai.azure.com``)
and its ``model`` the deployment's name: requests go to
``{base_url}/openai/deployments/{model}/chat/completions?api-version={api_version}``
(the catalog requires ``api_version`` there). A ``base_url`` ending in ``/openai/v1``
is Azure's v1 API: ``{base_url}/chat/completions``, with the deployment as the body's
``model`` and no ``api-version`` unless the catalog gives one.

The body is OpenAI's (see :class:`~.openai.OpenAIProvider`), and so is the answer,
with Azure's content-filter annotations (``prompt_filter_results``, each choice's
``content_filter_results``) passed on untouched, and a filtered completion's
``finish_reason: content_filter`` with them. One thing is dropped: the chunk Azure
streams first, which holds only ``prompt_filter_results`` (no choices, an empty id
and object) and is no chat completion chunk a client expects. A prompt Azure's
filter refuses comes back as a 400 whose ``code`` is ``content_filter``; its
message is completed with the categories that were filtered
(:func:`~.base.error_message`).

``auth: api-key`` (the default) sends the value of ``api_key_env`` as the
``api-key`` header; ``auth: entra`` sends a Microsoft Entra ID token as a bearer
token: the value of ``api_key_env`` when set (an operator who refreshes tokens
elsewhere), else one of :class:`~.azure_entra.EntraTokens`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

from quantized.catalog.model import Upstream
from quantized.gateway.providers.azure_entra import EntraTokens
from quantized.gateway.providers.base import CredentialsUnavailable
from quantized.gateway.providers.openai import OpenAIProvider, OpenAIStream, openai_call
from quantized.gateway.streams import StreamTranslator, UpstreamCall, event_data, json_event

if TYPE_CHECKING:
    from azure.core.credentials import SupportsTokenInfo

    from quantized.gateway.surfaces.chat import ChatRequest

V1_SUFFIX = "/openai/v1"


def uses_entra(upstream: Upstream) -> bool:
    return upstream.auth == "entra"


def azure_url(upstream: Upstream, path: str) -> str:
    """Where ``path`` (``/chat/completions``, ``/embeddings``) is for this upstream."""
    base = upstream.base_url.rstrip("/")
    version = upstream.api_version
    if base.endswith(V1_SUFFIX):
        url = base + path
    else:
        url = f"{base}/openai/deployments/{quote(upstream.model, safe='')}{path}"
    return f"{url}?api-version={quote(version, safe='')}" if version else url


class AzureStream(OpenAIStream):
    """OpenAI's stream, without the annotation-only chunk Azure sends first."""

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is not None and b'"prompt_filter_results"' in payload:
            data = json_event(payload)
            if not data.get("choices") and data.get("usage") is None:
                return []
        return super().translate(event)


class AzureProvider(OpenAIProvider):
    name = "azure"

    def __init__(self, credential: SupportsTokenInfo | None = None) -> None:
        self.tokens = EntraTokens(credential)

    async def prepare(self, upstream: Upstream, api_key: str | None) -> None:
        if uses_entra(upstream) and api_key is None:
            await self.tokens.ensure()

    async def close(self) -> None:
        await self.tokens.close()

    def auth_header(self, upstream: Upstream, api_key: str | None) -> tuple[bytes, bytes] | None:
        """How this upstream is told who calls (``None``: no key configured)."""
        if not uses_entra(upstream):
            return None if api_key is None else (b"api-key", api_key.encode())
        token = api_key if api_key is not None else self.tokens.current()
        if token is None:
            raise CredentialsUnavailable("no Microsoft Entra ID token is available")
        return b"authorization", b"Bearer " + token.encode()

    def azure_call(
        self, upstream: Upstream, api_key: str | None, path: str, body: bytes
    ) -> UpstreamCall:
        """A call to an endpoint (``path``) of this upstream's deployment."""
        headers = openai_call(upstream, None, path, body).headers  # OpenAI's, keyless
        auth = self.auth_header(upstream, api_key)
        return UpstreamCall(azure_url(upstream, path), [*headers, *filter(None, [auth])], body)

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = super().call(request, upstream, None).body  # OpenAI's, for the deployment
        return self.azure_call(upstream, api_key, "/chat/completions", body)

    def embeddings_call(
        self, body: dict[str, object], upstream: Upstream, api_key: str | None
    ) -> UpstreamCall:
        return self.azure_call(
            upstream, api_key, "/embeddings", orjson.dumps({**body, "model": upstream.model})
        )

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return AzureStream(forward_usage=request.include_usage)
