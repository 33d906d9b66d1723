"""OpenRouter's ``GET /api/v1/models`` response, as catalog models.

Mapped: ``id`` (already ``author/slug``), ``name``, ``description``, ``created``,
``context_length``; ``pricing.prompt`` / ``completion`` / ``input_cache_read`` /
``input_cache_write`` (USD per token, as strings) become USD per million tokens;
``architecture.input_modalities`` / ``output_modalities`` become the four
modalities (``file`` is dropped), except that a model whose output modalities
include ``embeddings`` is an embedding model: ``endpoints: [embeddings]`` and no
output modality (others serve the generative APIs); ``supported_parameters``
gives ``tool_calls`` (``tools``), ``structured_output`` (``structured_outputs`` or
``response_format``) and ``reasoning`` (``reasoning``/``include_reasoning``); a
cache-read price gives ``prompt_caching``. Every model gets one upstream:
OpenRouter's OpenAI-compatible API with ``OPENROUTER_API_KEY``.

No aliases: ``canonical_slug`` is OpenRouter's dated name, not the provider's, and
``hugging_face_id`` names a weights repository (in mixed case), not a model callers
request; the id callers send to OpenRouter is kept as the id.

Dropped: ``canonical_slug``, ``hugging_face_id``, ``top_provider``,
``per_request_limits``, the other prices (image, request, web search, internal
reasoning). Skipped, with the reason: entries with variable pricing
(OpenRouter marks them with negative prices, e.g. ``openrouter/auto``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from quantized.catalog.importers import Imported, Skipped, checked_date, collect
from quantized.catalog.model import GENERATIVE, MODALITIES
from quantized.catalog.schema import MODEL_ID_PATTERN
from quantized.errors import CatalogFormatError

SOURCE = "https://openrouter.ai/api/v1/models"


def canonical(modalities: Any) -> list[str]:
    """Known modalities, in the listing's order (others such as ``file`` dropped)."""
    given = set(modalities) if isinstance(modalities, list) else set()
    return [m for m in MODALITIES if m in given] or ["text"]


def per_million(value: Any, field: str, entry: str) -> float | None:
    """A per-token price (string or number) in USD per million tokens; ``None`` if absent."""
    if value is None:
        return None
    try:
        price = Decimal(str(value)) * 1_000_000
    except InvalidOperation:
        raise CatalogFormatError(
            f"invalid catalog: entry '{entry}' ({field}: not a number)", param=field
        ) from None
    return float(price.normalize())


def _features(parameters: list[str], cache_read: float | None) -> list[str]:
    found = []
    if "tools" in parameters:
        found.append("tool_calls")
    if "structured_outputs" in parameters or "response_format" in parameters:
        found.append("structured_output")
    if "reasoning" in parameters or "include_reasoning" in parameters:
        found.append("reasoning")
    if cache_read is not None:
        found.append("prompt_caching")
    return found


def _entry(item: dict[str, Any], today: str) -> dict[str, Any] | Skipped:
    model_id = item.get("id")
    if not isinstance(model_id, str):
        raise CatalogFormatError("invalid catalog: an entry has no string 'id'", param="id")
    if not re.match(MODEL_ID_PATTERN, model_id.lower()):
        return Skipped(model_id[:200], "id is not of the form author/slug")
    pricing = item.get("pricing") or {}
    prompt = per_million(pricing.get("prompt"), "pricing.prompt", model_id)
    completion = per_million(pricing.get("completion"), "pricing.completion", model_id)
    cache_read = per_million(pricing.get("input_cache_read"), "pricing.input_cache_read", model_id)
    write = per_million(pricing.get("input_cache_write"), "pricing.input_cache_write", model_id)
    if prompt is None or completion is None:
        return Skipped(model_id, "no prompt or completion price")
    if min(prompt, completion, cache_read or 0, write or 0) < 0:
        return Skipped(model_id, "variable pricing (negative prices)")
    architecture = item.get("architecture") or {}
    inputs = canonical(architecture.get("input_modalities"))
    given = architecture.get("output_modalities")
    embeds = isinstance(given, list) and "embeddings" in given
    parameters = [p for p in item.get("supported_parameters") or [] if isinstance(p, str)]
    return {
        "id": model_id.lower(),
        "name": item.get("name") or model_id,
        "description": item.get("description") or None,
        "created": item.get("created"),
        "input_modalities": inputs,
        "output_modalities": [] if embeds else canonical(given),
        "supported_features": _features(parameters, cache_read),
        "endpoints": ["embeddings"] if embeds else list(GENERATIVE),
        "context_length": item.get("context_length") or None,
        "cost": {
            "prompt": prompt,
            "completion": completion,
            "input_cache_read": cache_read,
            "input_cache_write": write,
        },
        "price_source": {"url": SOURCE, "checked": today, "via": "OpenRouter models API"},
        "upstreams": [
            {
                "provider": "openai",
                "base_url": "https://openrouter.ai/api/v1",
                "model": model_id,
                "api_key_env": "OPENROUTER_API_KEY",
            }
        ],
    }


def parse(document: Any, *, now: int) -> Imported:
    items = document.get("data") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise CatalogFormatError('invalid catalog: expected OpenRouter\'s {"data": [...]}')
    return collect(_entries(items, checked_date(now)), now=now)


def _entries(items: list[Any], today: str) -> Iterator[tuple[str, Any]]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise CatalogFormatError(f"invalid catalog: data[{index}] is not an object")
        entry = _entry(item, today)
        if isinstance(entry, Skipped):
            yield entry.name, entry
            continue
        entry["cost"] = {k: v for k, v in entry["cost"].items() if v is not None}
        yield entry["id"], entry
