"""The price history in the database: every price a model has had or is scheduled to have.

The price in force at an instant is the row that took effect latest by then (the newest
row among those that took effect at the same instant), cancelled rows aside. Prices are
never backdated: a price set now takes effect now, a scheduled one at its future
instant. Rows are never deleted; cancelling a scheduled price (at least
:data:`SCHEDULE_NOTICE` before its instant) marks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.catalog.model import SCHEDULE_NOTICE, Cost, Model, ScheduledPrice
from quantized.errors import ConflictError
from quantized.store.audit import Actor
from quantized.store.changes import chunks
from quantized.store.tables import model_prices


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One row of a model's price history."""

    id: int
    model: str
    effective_from: float
    cost: Cost
    set_at: float
    actor: Actor
    action: str
    cancelled_at: float | None = None


@dataclass(frozen=True, slots=True)
class InForce:
    """A model's price at an instant and the ones scheduled after it."""

    current: PriceRow | None
    upcoming: tuple[PriceRow, ...]
    previous: PriceRow | None = None
    """The price in force before ``current``."""

    @property
    def scheduled(self) -> tuple[ScheduledPrice, ...]:
        return tuple(ScheduledPrice(r.effective_from, r.cost, r.id) for r in self.upcoming)

    @property
    def superseded(self) -> ScheduledPrice | None:
        """The price before ``current``, until the instant ``current`` took effect."""
        if self.current is None or self.previous is None:
            return None
        return ScheduledPrice(self.current.effective_from, self.previous.cost, self.previous.id)


def _price_row(r: Any) -> PriceRow:
    return PriceRow(
        id=r.id,
        model=r.model,
        effective_from=r.effective_from,
        cost=Cost(
            r.prompt,
            r.completion,
            r.input_cache_read,
            r.input_cache_write,
        ),
        set_at=r.set_at,
        actor=Actor(r.actor_kind, r.actor_id, r.actor_name),
        action=r.action,
        cancelled_at=r.cancelled_at,
    )


_ORDER = (model_prices.c.model, model_prices.c.effective_from, model_prices.c.id)


async def history(conn: AsyncConnection, model_id: str) -> list[PriceRow]:
    """Every price of a model, in the order they take effect."""
    result = await conn.execute(
        select(model_prices)
        .where(model_prices.c.model == model_id)
        .order_by(model_prices.c.effective_from, model_prices.c.id)
    )
    return [_price_row(row) for row in result]


async def in_force(
    conn: AsyncConnection, model_ids: Iterable[str] | None, now: float
) -> dict[str, InForce]:
    """Each model's price in force at ``now`` and its scheduled ones (``None``: every model)."""
    rows: list[PriceRow] = []
    live = select(model_prices).where(model_prices.c.cancelled_at.is_(None)).order_by(*_ORDER)
    if model_ids is None:
        rows = [_price_row(r) for r in await conn.execute(live)]
    else:
        for chunk in chunks(list(model_ids)):
            result = await conn.execute(live.where(model_prices.c.model.in_(chunk)))
            rows.extend(_price_row(r) for r in result)
    found: dict[str, InForce] = {}
    for row in rows:  # by model, then in the order they take effect
        was = found.get(row.model, InForce(None, ()))
        if row.effective_from <= now:
            found[row.model] = InForce(row, (), was.current)
        else:
            found[row.model] = InForce(was.current, (*was.upcoming, row))
    return found


async def record(
    conn: AsyncConnection, actor: Actor, action: str, models: Sequence[Model], now: float
) -> None:
    """Bring the history in line with ``models`` as written at ``now``: a new row where a
    model's price differs from the one in force, and its scheduled prices as the model
    gives them (new ones added, missing ones cancelled)."""
    if not models:
        return
    stored = await in_force(conn, [m.id for m in models], now)
    rows: list[dict[str, object]] = []
    cancelled: list[int] = []
    for model in (m.at(now) for m in models):  # a price due by now is in force
        known = stored.get(model.id, InForce(None, ()))
        if known.current is None or known.current.cost != model.cost:
            rows.append(_new(model.id, now, model.cost, now, actor, action))
        wanted = {(p.effective_from, p.cost) for p in model.scheduled}
        have = {(r.effective_from, r.cost): r for r in known.upcoming}
        for key, row in have.items():
            if key not in wanted:
                _check_notice(row, now)
                cancelled.append(row.id)
        rows.extend(
            _new(model.id, when, cost, now, actor, "price.schedule")
            for when, cost in sorted(wanted - set(have), key=lambda p: p[0])
        )
    await _cancel(conn, cancelled, now)
    if rows:
        await conn.execute(insert(model_prices), rows)


def _check_notice(row: PriceRow, now: float) -> None:
    if row.effective_from - now < SCHEDULE_NOTICE:
        raise ConflictError(
            f"price {row.id} of '{row.model}' takes effect in less than {SCHEDULE_NOTICE:g} s: "
            "too late to cancel or replace it (other instances may be switching to it); "
            "set a new price once it is in force",
            param="effective_from",
            code="price_imminent",
        )


async def _cancel(conn: AsyncConnection, ids: list[int], now: float) -> None:
    for chunk in chunks(ids):
        await conn.execute(
            update(model_prices).where(model_prices.c.id.in_(chunk)).values(cancelled_at=now)
        )


def _new(
    model_id: str, when: float, cost: Cost, now: float, actor: Actor, action: str
) -> dict[str, object]:
    return {
        "model": model_id,
        "effective_from": when,
        "prompt": cost.prompt,
        "completion": cost.completion,
        "input_cache_read": cost.input_cache_read,
        "input_cache_write": cost.input_cache_write,
        "set_at": now,
        "actor_kind": actor.kind[:16],
        "actor_id": actor.id[:200],
        "actor_name": actor.name[:200],
        "action": action[:32],
    }


async def cancel_upcoming(conn: AsyncConnection, model_ids: Sequence[str], now: float) -> None:
    """Cancel the prices still to come of models that are going (deleted)."""
    for chunk in chunks(list(model_ids)):
        await conn.execute(
            update(model_prices)
            .where(
                model_prices.c.model.in_(chunk),
                model_prices.c.effective_from > now,
                model_prices.c.cancelled_at.is_(None),
            )
            .values(cancelled_at=now)
        )


async def by_id(conn: AsyncConnection, model_id: str, price_id: int) -> PriceRow | None:
    result = await conn.execute(
        select(model_prices).where(model_prices.c.id == price_id, model_prices.c.model == model_id)
    )
    row = result.first()
    return _price_row(row) if row is not None else None


async def rows_by_id(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, PriceRow]:
    found: dict[int, PriceRow] = {}
    for chunk in chunks(sorted(set(ids))):
        result = await conn.execute(select(model_prices).where(model_prices.c.id.in_(chunk)))
        found.update((row.id, _price_row(row)) for row in result)
    return found


def charged_price(price_id: int | None, charged: dict[int, PriceRow]) -> dict[str, Any] | None:
    """The price requests were charged at, as reports show it (``None``: rows from before
    price history, or without a model; only the id: a row no longer known)."""
    row = charged.get(price_id) if price_id is not None else None
    if row is None:
        return None if price_id is None else {"id": price_id}
    return {"id": row.id, "effective_from": row.effective_from, **row.cost.all_numbers()}
