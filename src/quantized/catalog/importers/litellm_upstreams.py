"""Where a LiteLLM entry is served: its upstream, or why it gets none.

LiteLLM names a model ``provider/route/model`` and tags it with ``litellm_provider``;
this turns the pair into one of our upstreams:

- OpenAI-compatible and Anthropic APIs (:data:`COMPATIBLE`): the provider's public URL.
- ``gemini`` (Google AI Studio): the native Gemini API, ``{provider: gemini, base_url:
  .../v1beta, api_key_env: GEMINI_API_KEY}``; its embedding models keep Google's
  OpenAI-compatible endpoint (an embedding model's upstreams are OpenAI-compatible).
- ``vertex_ai-language-models`` and ``vertex_ai`` Gemini models: the Gemini API through
  Vertex AI express mode (``VERTEX_API_KEY``). Vertex AI's other makers' models (Claude,
  Mistral, Llama, Grok, …) and its embeddings speak other APIs: no upstream.
- ``azure``: the operator's Azure OpenAI resource (:class:`ImportOptions`), the model
  name being the deployment's; none without that endpoint, for embeddings, or for
  models Azure serves through the Responses API only.
- ``bedrock``, ``bedrock_converse``: ``bedrock-runtime.<region>.amazonaws.com`` with the
  model id, the region from the key (``bedrock/eu-west-1/…``) or the import's, signed
  with SigV4. Provisioned-throughput prices (``…/1-month-commitment/…``) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quantized.catalog.importers import DEFAULT_BEDROCK_REGION, ImportOptions, Skipped

GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta"
VERTEX_URL = "https://aiplatform.googleapis.com/v1/publishers/google"
COMPATIBLE = {
    "openai": ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "mistral": ("openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "deepseek": ("openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "xai": ("openai", "https://api.x.ai/v1", "XAI_API_KEY"),
    "groq": ("openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together_ai": ("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "fireworks_ai": ("openai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "deepinfra": ("openai", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
    "openrouter": ("openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "moonshot": ("openai", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY"),
    "dashscope": (
        "openai",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "DASHSCOPE_API_KEY",
    ),
}
MAKER, LOCAL, HOST, COPY = 0, 1, 2, 3
"""Ranks: the maker's own API, a host's entry for the import's own region (Bedrock), a
host, a host's entry for another region or data zone (prices of its own)."""

_VERTEX_GEMINI = ("vertex_ai", "vertex_ai-language-models")
_BEDROCK = ("bedrock", "bedrock_converse")
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-[0-9]+$")
_COMMITMENT = re.compile(r"^[0-9]+-months?-commitment$")
_BEDROCK_ROUTES = ("invoke", "converse")
_EMBEDDINGS = (
    "the catalog gives an embedding model OpenAI-compatible upstreams only, which {} is not"
)
_VERTEX_OTHERS = (
    "Vertex AI serves this model through another API than Gemini's (its maker's, through "
    "rawPredict or an endpoint of a Google Cloud project and region), which no provider "
    "here speaks"
)
_AZURE_RESPONSES = (
    "Azure serves this model through the Responses API only, which the azure provider "
    "does not speak"
)
_NO_AZURE_ENDPOINT = (
    "no Azure OpenAI resource endpoint given (azure_endpoint, --azure-endpoint): LiteLLM "
    "does not know it"
)


@dataclass(frozen=True, slots=True)
class Placement:
    model: str
    """The provider's own name for the model (the upstream's ``model``, the alias)."""
    upstream: dict[str, Any] | None
    family: str
    """Whose upstream: a model takes at most one of each family."""
    rank: int
    """Which of the entries for one model id takes it: the lowest, then the first."""
    why: str | None = None
    """Why there is no upstream, when there is a reason worth telling."""


def place(
    key: str, provider: str, maker: bool, embeds: bool, options: ImportOptions
) -> Placement | Skipped:
    """Where the entry ``key`` (of ``litellm_provider`` ``provider``) is served."""
    if provider in _BEDROCK:
        return _bedrock(key, embeds, options)
    native = _without_prefix(key, provider)
    if provider == "azure":
        return _azure(native, embeds, key.count("/") > 1, options)
    if provider == "gemini":
        if embeds:  # Google's OpenAI-compatible endpoint serves embeddings
            upstream = _upstream("openai", f"{GEMINI_URL}/openai", native, "GEMINI_API_KEY")
        else:
            upstream = _upstream("gemini", GEMINI_URL, native, "GEMINI_API_KEY")
        return Placement(native, upstream, "gemini", MAKER)
    if provider.startswith("vertex_ai"):
        return _vertex(native, provider, embeds)
    if provider in COMPATIBLE:
        protocol, base_url, env = COMPATIBLE[provider]
        upstream = _upstream(protocol, base_url, native, env)
        upstream["responses"] = provider == "openai"
        return Placement(native, upstream, provider, MAKER if maker else HOST)
    return Placement(native, None, provider, MAKER if maker else HOST)


def _without_prefix(key: str, provider: str) -> str:
    """The key without LiteLLM's provider prefix."""
    prefix = provider.split("-")[0] + "/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def _upstream(protocol: str, base_url: str, model: str, env: str | None) -> dict[str, Any]:
    upstream = {"provider": protocol, "base_url": base_url, "model": model}
    return {**upstream, "api_key_env": env} if env else upstream


def _vertex(native: str, provider: str, embeds: bool) -> Placement:
    if embeds:
        return Placement(native, None, "vertex", HOST, _EMBEDDINGS.format("Vertex AI's"))
    if provider in _VERTEX_GEMINI and native.startswith("gemini"):
        upstream = _upstream("gemini", VERTEX_URL, native, "VERTEX_API_KEY")
        return Placement(native, upstream, "vertex", HOST)
    return Placement(native, None, "vertex", HOST, _VERTEX_OTHERS)


def _azure(native: str, embeds: bool, zoned: bool, options: ImportOptions) -> Placement:
    """``azure/<model>`` or ``azure/<zone>/<model>`` (eu, us, global: a deployment type
    with its own prices); the deployment is named after the model."""
    deployment = native.split("/")[-1]
    rank = COPY if zoned else HOST
    if embeds:
        return Placement(deployment, None, "azure", rank, _EMBEDDINGS.format("Azure OpenAI"))
    if options.azure_endpoint is None:
        return Placement(deployment, None, "azure", rank, _NO_AZURE_ENDPOINT)
    upstream = _upstream("azure", options.azure_endpoint, deployment, "AZURE_API_KEY")
    if options.azure_api_version:
        upstream["api_version"] = options.azure_api_version
    return Placement(deployment, upstream, "azure", rank)


def responses_only(placement: Placement) -> Placement:
    """An Azure model served through the Responses API only (LiteLLM's ``mode: responses``)."""
    if placement.family != "azure":
        return placement
    return Placement(placement.model, None, "azure", placement.rank, _AZURE_RESPONSES)


def _bedrock(key: str, embeds: bool, options: ImportOptions) -> Placement | Skipped:
    """``<model id>``, ``bedrock/<model id>``, ``bedrock/<region>/<model id>``,
    ``bedrock/invoke/<model id>`` (LiteLLM's route, not ours), or a provisioned-throughput
    price ``bedrock/<region or *>/<n>-month-commitment/<model id>`` (skipped)."""
    parts = key.split("/")
    if parts[0] in _BEDROCK and len(parts) > 1:
        parts = parts[1:]
    for part in parts[:-1]:
        if _COMMITMENT.match(part):
            return Skipped(key, f"a provisioned-throughput price ({part}), not an on-demand model")
    chosen = options.bedrock_region or DEFAULT_BEDROCK_REGION
    region, rank = chosen, HOST
    if len(parts) > 1 and _REGION.match(parts[0]):
        region, parts = parts[0], parts[1:]
        rank = LOCAL if region == chosen else COPY
    if len(parts) > 1 and parts[0] in _BEDROCK_ROUTES:
        parts = parts[1:]
    model = "/".join(parts)
    if len(parts) > 1:
        why = f"'{model}' is not a Bedrock model id (LiteLLM's {parts[0]} route)"
        return Placement(model, None, "bedrock", rank, why)
    if embeds:
        return Placement(model, None, "bedrock", rank, _EMBEDDINGS.format("Bedrock"))
    base_url = f"https://bedrock-runtime.{region}.amazonaws.com"
    upstream = {"provider": "bedrock", "base_url": base_url, "model": model, "region": region}
    return Placement(model, upstream, "bedrock", rank)
