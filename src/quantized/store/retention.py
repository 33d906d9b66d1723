"""Deleting the ledger's raw rows once they are older than the retention.

Rows go in small batches, the oldest first, one short transaction each, so no
batch holds locks for long or blocks the writers (``ix_usage_at`` finds them).
The daily aggregates (``usage_daily``, ``usage_team_daily``) are never deleted:
reports and budgets read them, and keep their figures when raw rows are gone.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.store.database import store_errors, transaction
from quantized.store.tables import usage


async def delete_expired_usage(
    engine_or_conn: AsyncEngine | AsyncConnection, before: float, batch: int
) -> int:
    """Delete every ledger row recorded before ``before`` (unix seconds), ``batch`` rows
    per transaction (each committed, also on a connection); how many were deleted."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    expired = select(usage.c.id).where(usage.c.at < before).order_by(usage.c.id).limit(batch)
    statement = delete(usage).where(usage.c.id.in_(expired.scalar_subquery()))
    total = 0
    while True:
        if isinstance(engine_or_conn, AsyncEngine):
            async with transaction(engine_or_conn) as conn:
                deleted = (await conn.execute(statement)).rowcount
        else:
            with store_errors():
                deleted = (await engine_or_conn.execute(statement)).rowcount
                await engine_or_conn.commit()
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let requests and the ledger's writes in between batches
