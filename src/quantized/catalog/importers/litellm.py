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
claude → anthropic, …), else the host's only maker (azure → openai), a Bedrock model
id's maker (``amazon.nova-pro-v1:0`` → amazon), or the provider's name.

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
the price source. The name is the slug (LiteLLM has no display names). The key without
its provider prefix and LiteLLM's route (``azure/eu/``, ``bedrock/us-east-1/``,
``bedrock/invoke/``) is the provider's own name for the model (``claude-sonnet-4-5-20250929``,
``gpt-4o``, ``anthropic.claude-3-5-sonnet-20240620-v1:0``): the upstream's model, and an
alias when it fits the alias rules (lowercase) and no other model has that name.

Upstreams (:mod:`.litellm_upstreams`): OpenAI-compatible and Anthropic APIs at their public
URL (OpenAI's own with ``responses: true``); ``gemini`` through the native Gemini API;
Vertex AI's Gemini models through Vertex AI express mode; ``azure`` through the operator's
resource (:class:`~quantized.catalog.importers.ImportOptions`); ``bedrock`` and
``bedrock_converse`` through Bedrock's runtime in the key's region or the import's. Other
entries get none; :attr:`Imported.unrouted` says why where there is a reason to tell
(another API, no Azure endpoint given, an embedding model at a non-OpenAI-compatible API).

One model, several entries: a host's copy of a maker's model (``azure/gpt-4o`` and
``gpt-4o``) has the maker's id. The maker's own entry takes the id whatever the file's
order, then a host's entry, then an entry of another region or data zone (prices of its
own), a Bedrock entry for the import's own region before the one naming none. A later
entry at the same prices (and endpoints) whose upstream is of a family the model has none
of (Vertex AI, Azure, Bedrock) adds its upstream to the model, after the others; any other
is skipped as a duplicate (:func:`~quantized.catalog.importers.collect`'s rule).
Provisioned-throughput prices (``bedrock/…/1-month-commitment/…``) are skipped.

Dropped: every other price (batch, flex, priority, above-N-tokens tiers, 1-hour
cache writes, per-image/audio/second), ``max_output_tokens`` and the remaining
``supports_*`` flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from quantized.catalog.aliases import ALIAS_PATTERN, MAX_ALIAS_LENGTH
from quantized.catalog.importers import Imported, ImportOptions, Skipped, checked_date, collect
from quantized.catalog.importers.litellm_upstreams import (
    MAKER,
    Placement,
    place,
    responses_only,
)
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
    "vertex_ai-embedding-models": "google",
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
_UNSAFE = re.compile(r"[^a-z0-9._:-]+")
_ALIAS = re.compile(ALIAS_PATTERN)


_HOSTS_OF_ONE_MAKER = {"azure": "openai"}
_BEDROCK_MODEL = re.compile(r"^(?:(?:us|eu|apac|global|jp|au|us-gov)\.)?([a-z0-9-]+)\.")
"""A Bedrock model id: its maker, after the cross-region profile's prefix if any."""


def _author(provider: str, name: str) -> str:
    if provider in _FIRST_PARTY:
        return _FIRST_PARTY[provider]
    lowered = name.lower()
    for family, author in _FAMILIES:
        if family in lowered:
            return author
    if provider in _HOSTS_OF_ONE_MAKER:
        return _HOSTS_OF_ONE_MAKER[provider]
    maker = _BEDROCK_MODEL.match(lowered) if provider.startswith("bedrock") else None
    if maker is not None:
        return maker.group(1)
    return _UNSAFE.sub("-", provider.lower()).strip("-._:") or "unknown"


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


Translated = tuple[str, "dict[str, Any] | Skipped", Placement | None]
"""An entry's key, its catalog entry (or why it is skipped) and where it is served."""


def _entry(key: str, entry: dict[str, Any], today: str, options: ImportOptions) -> Translated:
    mode = entry.get("mode", "chat")
    embeds = mode == _EMBEDDING
    if mode not in _GENERATIVE_MODES and not embeds:
        return key, Skipped(key, f"mode '{mode}' is not a chat, responses or embedding model"), None
    provider = str(entry.get("litellm_provider") or "")
    placement = place(key, provider, provider in _FIRST_PARTY, embeds, options)
    if isinstance(placement, Skipped):
        return key, placement, None
    prompt = per_million(entry.get("input_cost_per_token"), "input_cost_per_token", key)
    completion = (
        0.0
        if embeds
        else per_million(entry.get("output_cost_per_token"), "output_cost_per_token", key)
    )
    if prompt is None or completion is None:
        return key, Skipped(key, "no input or output price"), None
    cache_read = per_million(
        entry.get("cache_read_input_token_cost"), "cache_read_input_token_cost", key
    )
    write = per_million(
        entry.get("cache_creation_input_token_cost"), "cache_creation_input_token_cost", key
    )
    if mode == "responses":
        placement = responses_only(placement)
    native = placement.model
    slug = _UNSAFE.sub("-", native.split("/")[-1].lower()).strip("-._:")
    if not slug:
        return key, Skipped(key, "no usable model name"), None
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
    if placement.upstream is not None:
        data["upstreams"] = [placement.upstream]
    return key, data, placement


def _is_alias(name: str, model_id: str) -> bool:
    return name != model_id and len(name) <= MAX_ALIAS_LENGTH and _ALIAS.match(name) is not None


def parse(document: Any, *, now: int, options: ImportOptions | None = None) -> Imported:
    if not isinstance(document, dict):
        raise CatalogFormatError("invalid catalog: expected LiteLLM's object of models")
    given = options or ImportOptions()
    today = checked_date(now)
    translated = [_entry(key, entry, today, given) for key, entry in _entries(document)]
    translated.sort(key=lambda t: MAKER if t[2] is None else t[2].rank)  # stable
    entries, why = _merged(translated)
    result = collect(entries, now=now)
    unrouted = [
        Skipped(why[m.id][0], why[m.id][1])
        for m in result.models
        if not m.upstreams and m.id in why
    ]
    return replace(result, unrouted=unrouted)


def _merged(
    translated: list[Translated],
) -> tuple[list[tuple[str, dict[str, Any] | Skipped]], dict[str, tuple[str, str]]]:
    """The entries for :func:`collect`, a model's copies at other hosts merged into it.

    The first entry with an id takes it. A later one with the same prices and endpoints
    whose upstream is of a family (Vertex AI, Azure, Bedrock, …) the model has none of
    becomes one more upstream of the model; any other is left for :func:`collect` to
    skip. Also: why each model that takes an id has no upstream, by id.
    """
    out: list[tuple[str, dict[str, Any] | Skipped]] = []
    first: dict[str, tuple[dict[str, Any], set[str]]] = {}
    why: dict[str, tuple[str, str]] = {}
    for key, data, placement in translated:
        if isinstance(data, Skipped) or placement is None:
            out.append((key, data))
            continue
        kept = first.get(data["id"])
        if kept is None:
            first[data["id"]] = (data, {placement.family})
            if placement.why:
                why[data["id"]] = (key, placement.why)
            out.append((key, data))
        elif (
            placement.upstream is not None
            and placement.family not in kept[1]
            and (data["cost"], data["endpoints"]) == (kept[0]["cost"], kept[0]["endpoints"])
        ):
            kept[0].setdefault("upstreams", []).append(placement.upstream)
            kept[1].add(placement.family)
        else:
            out.append((key, data))
    return out, why


def _entries(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, entry in document.items():
        if key == "sample_spec":
            continue
        if not isinstance(entry, dict):
            raise CatalogFormatError(f"invalid catalog: entry '{key[:200]}' is not an object")
        yield key, entry
