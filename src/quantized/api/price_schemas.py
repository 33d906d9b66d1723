"""The admin API's price history objects, for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SetBy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="key, jwt, cli, or system")
    id: str
    name: str


class Price(BaseModel):
    """One row of a model's price history (USD per million tokens)."""

    model_config = ConfigDict(extra="forbid")

    object: Literal["model.price"]
    id: int = Field(description="What ledger rows charged at this price name (price_id)")
    model: str
    status: Literal["past", "current", "scheduled", "cancelled"]
    effective_from: float = Field(description="When it took or takes effect (unix seconds)")
    effective_until: float | None = Field(
        description="When the next price replaces it (null: none does yet)"
    )
    prompt: float
    completion: float
    input_cache_read: float
    input_cache_write: float | None = Field(description="null: cache writes cost the prompt price")
    set_at: float = Field(description="When it was set (unix seconds)")
    set_by: SetBy = Field(description="Who set it (as the audit log names them)")
    action: str = Field(
        description="What set it: model.create, model.update, model.replace, price.set, "
        "price.schedule, ..."
    )
    cancelled_at: float | None = Field(
        description="When a scheduled price was cancelled, before its instant (null: not)"
    )


class PriceList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    model: str
    data: list[Price] = Field(description="In the order they take effect")


class CancelledPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    object: Literal["model.price"]
    deleted: Literal[True]
