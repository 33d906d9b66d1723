"""Budget alerts in the database: each threshold a budget crossed, once per window, and
its webhook delivery.

An alert is **claimed** by inserting its row: the unique (budget, window, threshold) key
makes every other instance's insert do nothing, so only the instance whose insert won
delivers it. Each delivery attempt is **taken** first (``attempts`` goes from n to n+1,
only if the row is still pending with n), and its outcome is written only if the row
still has n+1: two instances never make the same attempt, and an instance whose alert
another one took over (see ``quantized.usage.alerts``) learns it and stops.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Insert, Row, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.store.database import connection, transaction
from quantized.store.tables import budget_alerts
from quantized.usage.alerts import DELIVERED, FAILED, LOGGED, PENDING, Alert

MAX_ERROR = 500
"""The length of ``last_error`` (longer errors are cut)."""


def _claim(dialect: str, values: dict[str, Any]) -> Insert:
    """An insert that does nothing if the alert exists, returning the new id if not.

    The dialect's own insert (``ON CONFLICT`` on PostgreSQL and SQLite alike), from its
    module, which the engine has loaded by then (not at import: a process loads one).
    """
    statement = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(budget_alerts)
    claim: Insert = statement.values(values).on_conflict_do_nothing()
    return claim.returning(budget_alerts.c.id)


def _alert(row: Row[Any]) -> Alert:
    return Alert(
        id=row.id,
        budget_id=row.budget_id,
        window=row.window_start,
        threshold=row.threshold,
        created_at=row.created_at,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


class DatabaseAlerts:
    """:class:`~quantized.usage.alerts.AlertStore` over the app's database.

    ``engine`` is called for the engine at each use, so the store can be made before the
    engine exists (the runtime's engine, once it runs).
    """

    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        self._engine = engine

    async def claim(
        self,
        budget_id: int,
        window: str,
        threshold: int,
        created_at: float,
        payload: dict[str, Any],
        status: str = PENDING,
    ) -> int | None:
        """The new alert's id, or ``None`` if it exists (another instance claimed it)."""
        values = {
            "budget_id": budget_id,
            "window_start": window,
            "threshold": threshold,
            "created_at": created_at,
            "payload": payload,
            "status": status,
            "attempts": 0,
        }
        async with transaction(self._engine()) as conn:
            statement = _claim(conn.dialect.name, values)
            found = (await conn.execute(statement)).scalar_one_or_none()
        return None if found is None else int(found)

    async def take(self, alert_id: int, done: int) -> bool:
        """Begin attempt ``done + 1``: whether the alert was pending with ``done`` attempts."""
        c = budget_alerts.c
        async with transaction(self._engine()) as conn:
            result = await conn.execute(
                update(budget_alerts)
                .where((c.id == alert_id) & (c.status == PENDING) & (c.attempts == done))
                .values(attempts=done + 1)
            )
        return bool(result.rowcount)

    async def finish(
        self, alert_id: int, attempt: int, error: str | None, final: bool, now: float
    ) -> bool:
        """Write attempt ``attempt``'s outcome: delivered (no ``error``), else the error,
        and ``failed`` if it was the last attempt. Whether the attempt was still this
        caller's (the row pending with ``attempt`` attempts)."""
        c = budget_alerts.c
        if error is None:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now}
        else:
            values = {"last_error": error[:MAX_ERROR], "status": FAILED if final else PENDING}
        async with transaction(self._engine()) as conn:
            result = await conn.execute(
                update(budget_alerts)
                .where((c.id == alert_id) & (c.status == PENDING) & (c.attempts == attempt))
                .values(values)
            )
        return bool(result.rowcount)

    async def get(self, alert_id: int) -> Alert | None:
        async with connection(self._engine()) as conn:
            result = await conn.execute(select(budget_alerts).where(budget_alerts.c.id == alert_id))
            row = result.one_or_none()
        return None if row is None else _alert(row)

    async def recent(
        self,
        *,
        limit: int,
        before_id: int | None = None,
        status: str | None = None,
        budget_id: int | None = None,
    ) -> list[Alert]:
        """Newest first."""
        c = budget_alerts.c
        query = select(budget_alerts).order_by(c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(c.id < before_id)
        if status is not None:
            query = query.where(c.status == status)
        if budget_id is not None:
            query = query.where(c.budget_id == budget_id)
        async with connection(self._engine()) as conn:
            result = await conn.execute(query)
        return [_alert(row) for row in result]

    async def pending(self, limit: int = 1000) -> list[Alert]:
        """Alerts still to deliver, oldest first (to resume those of an instance gone)."""
        c = budget_alerts.c
        query = select(budget_alerts).where(c.status == PENDING).order_by(c.id).limit(limit)
        async with connection(self._engine()) as conn:
            result = await conn.execute(query)
        return [_alert(row) for row in result]

    async def requeue(self, alert_id: int) -> bool:
        """Make a failed (or only logged) alert pending again, with no attempts made;
        whether it was one. Its ``last_error`` stays until the next attempt's outcome."""
        c = budget_alerts.c
        async with transaction(self._engine()) as conn:
            result = await conn.execute(
                update(budget_alerts)
                .where((c.id == alert_id) & c.status.in_((FAILED, LOGGED)))
                .values(status=PENDING, attempts=0, delivered_at=None)
            )
        return bool(result.rowcount)
