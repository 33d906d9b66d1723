"""Usage records for tests."""

from __future__ import annotations

from typing import Any

from quantized.usage.ledger import UsageRecord


def usage_record(**overrides: Any) -> UsageRecord:
    """A valid ledger record (key k1, 10 prompt and 5 completion tokens); override any field."""
    fields: dict[str, Any] = {
        "request_id": "r1",
        "at": 1_700_000_000.0,
        "day": "2023-11-14",
        "caller_kind": "key",
        "caller_id": "k1",
        "model": "m",
        "upstream": "u",
        "status": 200,
        "stream": False,
        "prompt_tokens": 10,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "completion_tokens": 5,
        "cost_pusd": 0,
        "latency_ms": 1.0,
        "estimated": False,
        "error_code": None,
    }
    fields.update(overrides)
    return UsageRecord(**fields)
