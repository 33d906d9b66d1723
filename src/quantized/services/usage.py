"""Spend per day, caller and model, from the ledger's daily aggregates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import InvalidRequestError
from quantized.store import prices as price_store
from quantized.store import reports as report_store
from quantized.store.database import connection
from quantized.store.prices import PriceRow, charged_price
from quantized.usage.cost import usd_number
from quantized.values import is_line

_SHOWN = ("requests", "prompt_tokens", "cached_tokens", "cache_write_tokens", "completion_tokens")


def parse_day(text: str | None, default: dt.date, param: str) -> str:
    if text is None:
        return default.isoformat()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidRequestError(f"{param} must be a date (YYYY-MM-DD)", param=param) from None


def default_range(
    today: dt.date | None = None, *, zone: dt.tzinfo | None = None
) -> tuple[dt.date, dt.date]:
    """This month so far, in ``zone`` (the organisation's time zone; default UTC)."""
    today = today or dt.datetime.now(zone or dt.UTC).date()
    return today.replace(day=1), today


async def summary(
    engine: AsyncEngine,
    *,
    start: str,
    end: str,
    caller: tuple[str, str] | None = None,
    model: str | None = None,
    limit: int = 10_000,
    by_price: bool = False,
) -> dict[str, Any]:
    """Spend from ``start`` to ``end`` (ISO days, inclusive: empty if start is after end);
    ``by_price``: a row per price charged too, with that price (read from the ledger)."""
    if model is not None and not is_line(model):
        raise InvalidRequestError(
            "model must be at most 200 characters, without control characters", param="model"
        )
    rows = []
    charged: dict[int, PriceRow] = {}
    if start <= end:
        async with connection(engine) as conn:
            rows = await report_store.spend(
                conn,
                start_day=start,
                end_day=end,
                group_by=("key", "model", "price") if by_price else ("key", "model"),
                period="day",
                caller=caller,
                model=model,
                limit=limit,
            )
            if by_price:
                ids = (r["price_id"] for r in rows if r["price_id"] is not None)
                charged = await price_store.rows_by_id(conn, ids)
    total = sum(r["cost_pusd"] for r in rows)
    data = []
    for row in rows:
        item: dict[str, Any] = {"day": row["period"], "model": row["model"]}
        if by_price:
            item["price"] = charged_price(row["price_id"], charged)
        item.update((name, row[name]) for name in _SHOWN)
        item["caller"] = {"kind": row["caller_kind"], "id": row["caller_id"]}
        item["cost_usd"] = usd_number(row["cost_pusd"])
        data.append(item)
    return {
        "object": "usage",
        "start": start,
        "end": end,
        "data": data,
        "total_cost_usd": usd_number(total),
    }
