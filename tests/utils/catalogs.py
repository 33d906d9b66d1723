"""Catalog documents for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def entry(model_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid catalog entry; override any field."""
    author, _, slug = model_id.partition("/")
    data: dict[str, Any] = {
        "id": model_id,
        "name": slug.replace("-", " ").title(),
        "description": f"Test model {slug} by {author}.",
        "created": "2025-04-14",
        "input_modalities": ["text", "image"],
        "output_modalities": ["text"],
        "supported_features": ["tool_calls"],
        "cost": {"prompt": 1, "completion": 4, "input_cache_read": 0.25},
        "upstreams": [
            {
                "provider": "openai",
                "base_url": "https://api.example.com/v1",
                "model": slug,
                "api_key_env": "EXAMPLE_API_KEY",
            }
        ],
    }
    data.update(overrides)
    return data


def write_catalog(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "models": entries}, sort_keys=False))
    return path
