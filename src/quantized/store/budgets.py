"""Budgets in the database, and the spend they count, read from the daily aggregates."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store import changes
from quantized.store.changes import chunks
from quantized.store.tables import budgets, usage_daily, usage_team_daily
from quantized.usage.budgets import Budget, Counter


def _budget(row: Any) -> Budget:
    return Budget(
        id=row.id,
        scope_kind=row.scope_kind,
        scope_id=row.scope_id,
        model=row.model,
        period=row.period,
        days=row.days,
        limit_pusd=row.limit_pusd,
        hard=bool(row.hard),
        thresholds=tuple(row.thresholds or ()),
    )


def _values(budget: Budget) -> dict[str, Any]:
    return {
        "scope_kind": budget.scope_kind,
        "scope_id": budget.scope_id,
        "model": budget.model,
        "period": budget.period,
        "days": budget.days,
        "limit_pusd": budget.limit_pusd,
        "hard": budget.hard,
        "thresholds": list(budget.thresholds),
    }


async def all_budgets(conn: AsyncConnection) -> list[Budget]:
    result = await conn.execute(select(budgets).order_by(budgets.c.id))
    return [_budget(row) for row in result]


async def get_budget(conn: AsyncConnection, budget_id: int) -> Budget | None:
    result = await conn.execute(select(budgets).where(budgets.c.id == budget_id))
    row = result.one_or_none()
    return _budget(row) if row is not None else None


async def find_budget(
    conn: AsyncConnection, scope_kind: str, scope_id: str, model: str, period: str, days: int
) -> Budget | None:
    result = await conn.execute(
        select(budgets).where(
            budgets.c.scope_kind == scope_kind,
            budgets.c.scope_id == scope_id,
            budgets.c.model == model,
            budgets.c.period == period,
            budgets.c.days == days,
        )
    )
    row = result.one_or_none()
    return _budget(row) if row is not None else None


async def budgets_of(conn: AsyncConnection, scope_kind: str, scope_id: str) -> list[Budget]:
    result = await conn.execute(
        select(budgets)
        .where(budgets.c.scope_kind == scope_kind, budgets.c.scope_id == scope_id)
        .order_by(budgets.c.id)
    )
    return [_budget(row) for row in result]


async def insert_budget(conn: AsyncConnection, budget: Budget) -> Budget:
    now = time.time()
    result = await conn.execute(
        insert(budgets).returning(*budgets.c),
        {**_values(budget), "created_at": now, "updated_at": now},
    )
    stored = _budget(result.one())
    await changes.record(conn, changes.BUDGET, [str(stored.id)])
    return stored


async def update_budget(conn: AsyncConnection, budget: Budget) -> Budget:
    await conn.execute(
        update(budgets)
        .where(budgets.c.id == budget.id)
        .values(**_values(budget), updated_at=time.time())
    )
    await changes.record(conn, changes.BUDGET, [str(budget.id)])
    return budget


async def delete_budget(conn: AsyncConnection, budget_id: int) -> bool:
    result = await conn.execute(delete(budgets).where(budgets.c.id == budget_id))
    await changes.record(conn, changes.BUDGET, [str(budget_id)])
    return bool(result.rowcount)


async def spend_since(
    conn: AsyncConnection, counters: Iterable[Counter], since_day: str
) -> list[tuple[str, str, str, str, int]]:
    """(scope kind, scope id, model, day, picodollars) from ``since_day`` on, for these
    counters, from the daily aggregates (never the raw ledger)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    models: dict[tuple[str, str], set[str]] = defaultdict(set)
    for kind, scope_id, model in counters:
        wanted[kind].add(scope_id)
        models[(kind, scope_id)].add(model)
    found: dict[tuple[str, str, str, str], int] = defaultdict(int)
    columns = {
        "key": usage_daily.c.caller_id,
        "person": usage_daily.c.person,
        "team": usage_daily.c.team_id,
    }
    for kind, ids in wanted.items():
        column = columns.get(kind)
        if column is None:
            continue
        per_model = any(m for i in ids for m in models[(kind, i)])
        for chunk in chunks(sorted(ids)):
            keys: list[Any] = [int(i) for i in chunk] if kind == "team" else list(chunk)
            if kind == "team" and not per_model:  # the small per-team table has every total
                totals = select(
                    usage_team_daily.c.team_id, usage_team_daily.c.day, usage_team_daily.c.cost_pusd
                ).where(usage_team_daily.c.team_id.in_(keys), usage_team_daily.c.day >= since_day)
                for team_id, day, cost in await conn.execute(totals):
                    found[(kind, str(team_id), "", day)] += int(cost)
                continue
            query: Any = (
                select(
                    column,
                    usage_daily.c.model,
                    usage_daily.c.day,
                    func.sum(usage_daily.c.cost_pusd),
                )
                .where(column.in_(keys), usage_daily.c.day >= since_day)
                .group_by(column, usage_daily.c.model, usage_daily.c.day)
            )
            if kind == "key":
                query = query.where(usage_daily.c.caller_kind == "key")
            for scope_id, model, day, cost in await conn.execute(query):
                scope_id = str(scope_id)
                amount = int(cost or 0)
                if "" in models[(kind, scope_id)]:
                    found[(kind, scope_id, "", day)] += amount
                if model in models[(kind, scope_id)]:
                    found[(kind, scope_id, model, day)] += amount
    return [(k, i, m, d, amount) for (k, i, m, d), amount in found.items()]
