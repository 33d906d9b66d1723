"""A model's prices over time: its history, a new price now or at a later instant, and
cancelling a scheduled one (shared by the CLI and the admin API).

Prices are never backdated and history is never rewritten: a price set now takes effect
now (on each instance as soon as it learns of it, within the refresh interval); a
scheduled price takes effect at its instant on every instance at once, and is set,
replaced or cancelled at least :data:`SCHEDULE_NOTICE` before it. Each change is
audited and recorded in the history with who made it; each write holds the model's row,
so two at once never work from the same stale copy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.catalog.model import SCHEDULE_NOTICE, Cost, Model, ScheduledPrice
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.services.catalog import write_models
from quantized.store import catalog as model_store
from quantized.store import prices as price_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction
from quantized.store.prices import PriceRow


@dataclass(frozen=True, slots=True)
class PriceView:
    """A history row as listed: when it applies, and whether it is past, current or
    scheduled at the time of the listing."""

    row: PriceRow
    until: float | None
    status: str


def _not_found(model_id: str) -> NotFoundError:
    return NotFoundError(
        f"no model '{model_id}' in the catalog", param="id", code="model_not_found"
    )


def views(rows: list[PriceRow], now: float) -> list[PriceView]:
    """Rows in the order they take effect, each with the instant the next one replaces it
    (cancelled rows are listed as such, and replace nothing)."""
    live = [r for r in rows if r.cancelled_at is None]  # in the order they take effect
    due = [r for r in live if r.effective_from <= now]
    current = due[-1].id if due else None
    nexts = {r.id: n.effective_from for r, n in zip(live, live[1:], strict=False)}
    found: list[PriceView] = []
    for row in rows:
        if row.cancelled_at is not None:
            status = "cancelled"
        elif row.id == current:
            status = "current"
        else:
            status = "scheduled" if row.effective_from > now else "past"
        found.append(PriceView(row, nexts.get(row.id), status))
    return found


async def history(engine: AsyncEngine, model_id: str) -> list[PriceView]:
    """Every price the model has had and is scheduled to have (a deleted model's history
    is kept, and listed while it has any)."""
    async with connection(engine) as conn:
        rows = await price_store.history(conn, model_id)
        if not rows and not await model_store.models_by_id(conn, [model_id]):
            raise _not_found(model_id)
    return views(rows, time.time())


async def set_price(
    engine: AsyncEngine,
    actor: Actor,
    model_id: str,
    cost: Cost,
    effective_from: float | None = None,
) -> PriceView:
    """Make ``cost`` the model's price now (``effective_from`` ``None``) or from a later
    instant (replacing a price scheduled for that very instant)."""
    now = time.time()
    if effective_from is not None and effective_from <= now:
        raise InvalidRequestError(
            "effective_from must be in the future: prices are never backdated (requests "
            "were charged at the price then in force); leave it out to change the price now",
            param="effective_from",
            code="price_in_past",
        )
    if effective_from is not None and effective_from - now < SCHEDULE_NOTICE:
        raise InvalidRequestError(
            f"effective_from must be at least {SCHEDULE_NOTICE:g} s away, so that every "
            "instance knows of the price before it applies; leave it out to change the "
            "price now",
            param="effective_from",
            code="price_too_soon",
        )
    async with transaction(engine) as conn:
        model = await _stored(conn, model_id)
        now = time.time()
        if effective_from is None:  # over whatever became due meanwhile
            changed = replace(model.at(now), cost=cost)
            action = "price.set"
        else:
            kept = [p for p in model.scheduled if p.effective_from != effective_from]
            schedule = sorted([*kept, ScheduledPrice(effective_from, cost)], key=_instant)
            changed = replace(model, scheduled=tuple(schedule))
            action = "price.schedule"
        await write_models(conn, actor, action, [changed])
        rows = await price_store.history(conn, model_id)
    listed = views(rows, time.time())
    if effective_from is None:
        found = next((v for v in listed if v.status == "current"), None)
    else:
        found = next(
            (
                v
                for v in listed
                if v.row.effective_from == effective_from and v.status != "cancelled"
            ),
            None,
        )
    if found is None:  # written, but not as asked: say so rather than fail
        raise ConflictError(
            f"the price of '{model_id}' changed while this one was set; list its prices",
            code="price_conflict",
        )
    return found


async def cancel(engine: AsyncEngine, actor: Actor, model_id: str, price_id: int) -> PriceRow:
    """Cancel a scheduled price before its instant."""
    async with transaction(engine) as conn:
        model = await _stored(conn, model_id)
        row = await price_store.by_id(conn, model_id, price_id)
        if row is None:
            raise NotFoundError(
                f"model '{model_id}' has no price {price_id}",
                param="price_id",
                code="price_not_found",
            )
        if row.cancelled_at is not None:
            raise ConflictError(
                f"price {price_id} of '{model_id}' is cancelled already",
                param="price_id",
                code="price_cancelled",
            )
        if row.effective_from <= time.time():
            raise ConflictError(
                f"price {price_id} of '{model_id}' has taken effect already, and history is "
                "never rewritten: set a new price instead",
                param="price_id",
                code="price_in_effect",
            )
        kept = tuple(p for p in model.scheduled if p.id != price_id)
        await write_models(conn, actor, "price.cancel", [replace(model, scheduled=kept)])
    return row


async def _stored(conn: AsyncConnection, model_id: str) -> Model:
    """The stored model, its row held until the transaction ends."""
    await model_store.lock_models(conn, [model_id])
    found = await model_store.models_by_id(conn, [model_id])
    if not found:
        raise _not_found(model_id)
    return found[0]


def _instant(price: ScheduledPrice) -> float:
    return price.effective_from


def price_json(view: PriceView) -> dict[str, Any]:
    """A history row as the admin API answers it."""
    row = view.row
    return {
        "object": "model.price",
        "id": row.id,
        "model": row.model,
        "status": view.status,
        "effective_from": row.effective_from,
        "effective_until": view.until,
        **row.cost.all_numbers(),
        "set_at": row.set_at,
        "set_by": {"kind": row.actor.kind, "id": row.actor.id, "name": row.actor.name},
        "action": row.action,
        "cancelled_at": row.cancelled_at,
    }
