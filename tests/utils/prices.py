"""What a ledger row costs at a history row's prices, computed apart from the gateway."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def cost_of(row: dict[str, Any], price: dict[str, Any]) -> int:
    """Picodollars for a ledger row's tokens (no cache writes) at ``price`` (per 1M)."""
    usd = (
        (int(row["prompt_tokens"]) - int(row["cached_tokens"])) * Decimal(repr(price["prompt"]))
        + int(row["cached_tokens"]) * Decimal(repr(price["input_cache_read"]))
        + int(row["completion_tokens"]) * Decimal(repr(price["completion"]))
    ) / 1_000_000
    return int(usd * 10**12)
