"""LiteLLM's ``model_prices_and_context_window.json``, as catalog models.

Imported: entries with ``mode: chat`` or ``responses`` (they serve the generative
APIs: chat, messages, responses) and ``mode: embedding`` (``endpoints: [embeddings]``,
no output modality, completion price 0: embeddings bill input tokens only); others,
such as image generation or speech, are skipped with the reason. The id is
``author/slug``: the slug is the key without its provider prefix (lowercased;
characters outside ``[a-z0-9._:-]`` become ``-``); the author comes from
``litellm_provider`` for first-party providers (``openai`` → openai, ``anthropic`` → anthropic,
``gemini``/``vertex_ai-language-models`` → google, ``mistral`` → mistralai,
``xai`` → x-ai, ``dashscope`` → qwen, …) and, for hosts (groq, together_ai,
bedrock, azure, …), from the model's family name (llama → meta-llama, qwen → qwen,
claude → anthropic, …), else the provider's name.

Mapped: ``input_cost_per_token`` / ``output_cost_per_token`` /
``cache_read_input_token_cost`` / ``cache_creation_input_token_cost`` (USD per
token) → USD per million tokens (a cache-write price of 0, which LiteLLM gives
providers that bill no writes, is left unset: writes then cost the input price);
``supports_function_calling`` → ``tool_calls``; ``supports_response_schema`` →
``structured_output``; ``supports_reasoning``, ``supports_prompt_caching``,
``supports_web_search`` → the features of those names; ``supports_vision``,
``supports_audio_input``, ``supports_video_input`` and ``supported_modalities``
→ input modalities; ``supported_output_modalities`` / ``supports_audio_output``
→ output modalities; ``max_input_tokens`` → ``context_length``; ``source`` →
the price source. The name is the slug (LiteLLM has no display names). Providers
with an OpenAI-compatible or Anthropic API get an upstream (OpenAI's own API with
``responses: true``: it serves the Responses API itself). The key without its
provider prefix is the provider's own name for the model (``claude-sonnet-4-5-20250929``,
``gpt-4o``): it becomes an alias when it fits the alias rules (lowercase) and no
other model has that name.

Dropped: every other price (batch, flex, priority, above-N-tokens tiers, 1-hour
cache writes, per-image/audio/second), ``max_output_tokens`` and the remaining
``supports_*`` flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from quantized.catalog.aliases import ALIAS_PATTERN, MAX_ALIAS_LENGTH
from quantized.catalog.importers import Imported, Skipped, checked_date, collect
from quantized.catalog.importers.openrouter import canonical, per_million
from quantized.catalog.model import GENERATIVE
from quantized.errors import CatalogFormatError

SOURCE = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"

_FIRST_PARTY = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "mistral": "mistralai",
    "codestral": "mistralai",
    "deepseek": "deepseek",
    "xai": "x-ai",
    "dashscope": "qwen",
    "moonshot": "moonshotai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "zhipu": "z-ai",
    "zai": "z-ai",
    "meta_llama": "meta-llama",
    "perplexity": "perplexity",
    "ai21": "ai21",
}
_FAMILIES = (
    ("llama", "meta-llama"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("gemma", "google"),
    ("qwen", "qwen"),
    ("qwq", "qwen"),
    ("deepseek", "deepseek"),
    ("mistral", "mistralai"),
    ("mixtral", "mistralai"),
    ("ministral", "mistralai"),
    ("codestral", "mistralai"),
    ("magistral", "mistralai"),
    ("devstral", "mistralai"),
    ("pixtral", "mistralai"),
    ("grok", "x-ai"),
    ("command", "cohere"),
    ("kimi", "moonshotai"),
    ("glm", "z-ai"),
    ("gpt", "openai"),
    ("phi", "microsoft"),
    ("nemotron", "nvidia"),
    ("jamba", "ai21"),
)
_UPSTREAMS = {
    "openai": ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ("anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    "gemini": (
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",
    ),
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
_UNSAFE = re.compile(r"[^a-z0-9._:-]+")
_ALIAS = re.compile(ALIAS_PATTERN)


def _author(provider: str, name: str) -> str:
    if provider in _FIRST_PARTY:
        return _FIRST_PARTY[provider]
    lowered = name.lower()
    for family, author in _FAMILIES:
        if family in lowered:
            return author
    return _UNSAFE.sub("-", provider.lower()).strip("-._:") or "unknown"


def _provider_model(key: str, provider: str) -> str:
    """The provider's own name for the model: the key without LiteLLM's provider prefix."""
    prefix = provider.split("-")[0] + "/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def _modalities(entry: dict[str, Any]) -> tuple[list[str], list[str]]:
    inputs = ["text", *(entry.get("supported_modalities") or [])]
    for flag, modality in (
        ("supports_vision", "image"),
        ("supports_audio_input", "audio"),
        ("supports_video_input", "video"),
    ):
        if entry.get(flag) is True:
            inputs.append(modality)
    outputs = list(entry.get("supported_output_modalities") or ["text"])
    if entry.get("supports_audio_output") is True:
        outputs.append("audio")
    return canonical(inputs), canonical(outputs)


def _features(entry: dict[str, Any]) -> list[str]:
    flags = (
        ("supports_function_calling", "tool_calls"),
        ("supports_response_schema", "structured_output"),
        ("supports_reasoning", "reasoning"),
        ("supports_prompt_caching", "prompt_caching"),
        ("supports_web_search", "web_search"),
    )
    return [feature for flag, feature in flags if entry.get(flag) is True]


_GENERATIVE_MODES = ("chat", "responses")
_EMBEDDING = "embedding"


def _entry(key: str, entry: dict[str, Any], today: str) -> dict[str, Any] | Skipped:
    mode = entry.get("mode", "chat")
    embeds = mode == _EMBEDDING
    if mode not in _GENERATIVE_MODES and not embeds:
        return Skipped(key, f"mode '{mode}' is not a chat, responses or embedding model")
    provider = str(entry.get("litellm_provider") or "")
    prompt = per_million(entry.get("input_cost_per_token"), "input_cost_per_token", key)
    completion = (
        0.0
        if embeds
        else per_million(entry.get("output_cost_per_token"), "output_cost_per_token", key)
    )
    if prompt is None or completion is None:
        return Skipped(key, "no input or output price")
    cache_read = per_million(
        entry.get("cache_read_input_token_cost"), "cache_read_input_token_cost", key
    )
    write = per_million(
        entry.get("cache_creation_input_token_cost"), "cache_creation_input_token_cost", key
    )
    native = _provider_model(key, provider)
    slug = _UNSAFE.sub("-", native.split("/")[-1].lower()).strip("-._:")
    if not slug:
        return Skipped(key, "no usable model name")
    inputs, outputs = _modalities(entry)
    model_id = f"{_author(provider, native)}/{slug}"
    data: dict[str, Any] = {
        "id": model_id,
        "name": native.split("/")[-1],
        "aliases": [native] if _is_alias(native, model_id) else [],
        "input_modalities": inputs,
        "output_modalities": [] if embeds else outputs,
        "supported_features": _features(entry),
        "endpoints": ["embeddings"] if embeds else list(GENERATIVE),
        "context_length": entry.get("max_input_tokens") or None,
        "cost": {"prompt": prompt, "completion": completion},
        "price_source": {
            "url": entry.get("source") if isinstance(entry.get("source"), str) else SOURCE,
            "checked": today,
            "via": "LiteLLM model_prices_and_context_window.json",
        },
    }
    if cache_read is not None:
        data["cost"]["input_cache_read"] = cache_read
    if write:
        data["cost"]["input_cache_write"] = write
    if provider in _UPSTREAMS:
        protocol, base_url, env = _UPSTREAMS[provider]
        upstream = {"provider": protocol, "base_url": base_url, "model": native, "api_key_env": env}
        data["upstreams"] = [{**upstream, "responses": provider == "openai"}]
    return data


def _is_alias(name: str, model_id: str) -> bool:
    return name != model_id and len(name) <= MAX_ALIAS_LENGTH and _ALIAS.match(name) is not None


def parse(document: Any, *, now: int) -> Imported:
    if not isinstance(document, dict):
        raise CatalogFormatError("invalid catalog: expected LiteLLM's object of models")
    return collect(_entries(document, checked_date(now)), now=now)


def _entries(document: dict[str, Any], today: str) -> Iterator[tuple[str, Any]]:
    for key, entry in document.items():
        if key == "sample_spec":
            continue
        if not isinstance(entry, dict):
            raise CatalogFormatError(f"invalid catalog: entry '{key[:200]}' is not an object")
        yield key, _entry(key, entry, today)
