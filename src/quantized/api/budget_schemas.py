"""Response models of ``/admin/v1/budgets`` and of the budgets ``/v1/usage`` shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetScope(_Out):
    kind: Literal["team", "person", "key"]
    id: str


class BudgetWindow(_Out):
    start: str
    end: str
    resets_at: str


class Budget(_Out):
    object: Literal["budget"]
    id: int
    scope: BudgetScope
    model: str | None
    period: Literal["day", "week", "month", "rolling"]
    days: int | None
    limit_usd: float
    hard: bool
    thresholds: list[int]


class BudgetStatus(Budget):
    """A budget with its current window: what was spent, what requests in flight hold on
    this instance, and what is left."""

    window: BudgetWindow
    spent_usd: float
    reserved_usd: float
    remaining_usd: float


class Budgets(_Out):
    object: Literal["list"]
    data: list[BudgetStatus]


class BudgetDeleted(_Out):
    id: int
    object: Literal["budget"]
    deleted: Literal[True]


class CallerRef(_Out):
    kind: str
    id: str


class CallerLimits(_Out):
    caller: CallerRef
    daily_usd: float | None
    monthly_usd: float | None


class CallerLimitsDeleted(_Out):
    caller: CallerRef
    deleted: Literal[True]
