"""Response models of ``/admin/v1/budgets/alerts``: budget alerts and their webhook body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from quantized.api.budget_schemas import BudgetScope

AlertStatus = Literal["pending", "delivered", "failed", "logged"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertBudget(_Out):
    id: int
    scope: BudgetScope
    model: str | None
    period: Literal["day", "week", "month", "rolling"]
    days: int | None
    limit_usd: float
    hard: bool


class AlertWindow(_Out):
    start: str
    end: str
    label: str = Field(description="Names the window: 2026-11-30, 2026-W49, 2026-11, or a range")
    resets_at: str


class AlertPayload(_Out):
    """The webhook's JSON body (``X-Quantized-Event: budget.threshold``)."""

    type: Literal["budget.threshold"]
    id: int = Field(description="The alert's id, also sent as X-Quantized-Delivery")
    budget: AlertBudget
    threshold: int = Field(description="The percentage of the limit reached")
    spent_usd: float
    window: AlertWindow
    created_at: str = Field(description="When spend reached the threshold (RFC 3339, UTC)")


class BudgetAlert(_Out):
    """A threshold a budget's spend reached in one window, and its webhook delivery."""

    object: Literal["budget.alert"]
    id: int
    budget_id: int
    window_label: str
    threshold: int
    created_at: float = Field(description="Unix seconds")
    status: AlertStatus = Field(
        description="pending (being delivered), delivered, failed (every attempt failed), "
        "or logged (no webhook was configured)"
    )
    attempts: int
    last_error: str | None = Field(description="The last failed attempt's status or error")
    delivered_at: float | None = Field(description="Unix seconds")
    payload: AlertPayload


class BudgetAlertList(_Out):
    object: Literal["list"]
    data: list[BudgetAlert]
    has_more: bool
