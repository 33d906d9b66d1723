"""Reading the ledger: spend per day, caller and model."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import InvalidRequestError
from quantized.store import usage as usage_store
from quantized.store.database import connection
from quantized.usage.cost import usd_number
from quantized.values import is_line


def parse_day(text: str | None, default: dt.date, param: str) -> str:
    if text is None:
        return default.isoformat()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidRequestError(f"{param} must be a date (YYYY-MM-DD)", param=param) from None


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This month so far."""
    today = today or dt.datetime.now(dt.UTC).date()
    return today.replace(day=1), today


async def summary(
    engine: AsyncEngine,
    *,
    start: str,
    end: str,
    caller: tuple[str, str] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Spend from ``start`` to ``end`` (ISO days, inclusive: empty if start is after end)."""
    if model is not None and not is_line(model):
        raise InvalidRequestError(
            "model must be at most 200 characters, without control characters", param="model"
        )
    rows = []
    if start <= end:
        async with connection(engine) as conn:
            rows = await usage_store.summary(
                conn, start_day=start, end_day=end, caller=caller, model=model
            )
    total = sum(r["cost_pusd"] for r in rows)
    data = []
    for row in rows:
        item = {k: v for k, v in row.items() if k not in ("caller_kind", "caller_id", "cost_pusd")}
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
