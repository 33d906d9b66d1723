"""Budgets in the database."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store import changes
from quantized.store.tables import budgets
from quantized.usage.budgets import Budget


def _key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


async def all_budgets(conn: AsyncConnection) -> list[Budget]:
    result = await conn.execute(select(budgets))
    return [
        Budget(row.subject_kind, row.subject_id, row.daily_pusd, row.monthly_pusd) for row in result
    ]


async def get_budget(conn: AsyncConnection, kind: str, subject: str) -> Budget | None:
    result = await conn.execute(
        select(budgets).where(budgets.c.subject_kind == kind, budgets.c.subject_id == subject)
    )
    row = result.one_or_none()
    return Budget(kind, subject, row.daily_pusd, row.monthly_pusd) if row is not None else None


async def put_budget(conn: AsyncConnection, budget: Budget) -> None:
    await conn.execute(
        delete(budgets).where(
            budgets.c.subject_kind == budget.subject_kind,
            budgets.c.subject_id == budget.subject_id,
        )
    )
    await conn.execute(
        budgets.insert(),
        {
            "subject_kind": budget.subject_kind,
            "subject_id": budget.subject_id,
            "daily_pusd": budget.daily_pusd,
            "monthly_pusd": budget.monthly_pusd,
            "updated_at": time.time(),
        },
    )
    await changes.record(conn, changes.BUDGET, [_key(budget.subject_kind, budget.subject_id)])


async def remove_budget(conn: AsyncConnection, kind: str, subject: str) -> bool:
    result = await conn.execute(
        delete(budgets).where(budgets.c.subject_kind == kind, budgets.c.subject_id == subject)
    )
    await changes.record(conn, changes.BUDGET, [_key(kind, subject)])
    return bool(result.rowcount)
