"""Reading the audit log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.store import audit
from quantized.store.audit import AuditEntry
from quantized.store.database import connection


async def recent(
    engine: AsyncEngine,
    *,
    limit: int,
    before_id: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    actor_id: str | None = None,
    period: tuple[float | None, float | None] = (None, None),
) -> list[AuditEntry]:
    """Newest first; ``period``: [from, to) in unix seconds, either end open."""
    async with connection(engine) as conn:
        return await audit.entries(
            conn,
            limit=limit,
            before_id=before_id,
            entity=entity,
            entity_id=entity_id,
            actor_id=actor_id,
            period=period,
        )
