"""Catalog models in the database."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.catalog.model import Cost, Model, PriceSource, Upstream
from quantized.store import changes, prices
from quantized.store.changes import chunks
from quantized.store.prices import InForce
from quantized.store.tables import models


def _row(model: Model, now: float) -> dict[str, Any]:
    source = model.price_source
    return {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "status": model.status,
        "input_modalities": list(model.input_modalities),
        "output_modalities": list(model.output_modalities),
        "supported_features": list(model.supported_features),
        "cost_prompt": model.cost.prompt,
        "cost_completion": model.cost.completion,
        "cost_input_cache_read": model.cost.input_cache_read,
        "cost_input_cache_write": model.cost.input_cache_write,
        "context_length": model.context_length,
        "created": model.created,
        "upstreams": [asdict(u) for u in model.upstreams],
        "price_source": (
            {"url": source.url, "checked": source.checked, "via": source.via, "note": source.note}
            if source
            else None
        ),
        "aliases": list(model.aliases),
        "endpoints": list(model.endpoints),
        "routing": model.routing,
        "pinned": list(model.pinned),
        "updated_at": now,
    }


def _model(row: Any, known: InForce | None) -> Model:
    """A stored model with its price in force and scheduled ones (a row no price history
    names, written by an older version, costs what its own columns say)."""
    cost = Cost(
        row.cost_prompt, row.cost_completion, row.cost_input_cache_read, row.cost_input_cache_write
    )
    current = known.current if known is not None else None
    return Model(
        id=row.id,
        name=row.name,
        description=row.description,
        status=row.status,
        input_modalities=tuple(row.input_modalities),
        output_modalities=tuple(row.output_modalities),
        supported_features=tuple(row.supported_features),
        cost=cost if current is None else current.cost,
        price_id=None if current is None else current.id,
        scheduled=known.scheduled if known is not None else (),
        superseded=known.superseded if known is not None else None,
        pinned=tuple(row.pinned or ()),
        context_length=row.context_length,
        created=row.created,
        upstreams=tuple(_upstream(u) for u in row.upstreams),
        price_source=PriceSource(**row.price_source) if row.price_source else None,
        aliases=tuple(row.aliases),
        endpoints=tuple(row.endpoints),
        routing=row.routing,
    )


_UPSTREAM_FIELDS = frozenset(f.name for f in fields(Upstream))


def _upstream(stored: dict[str, Any]) -> Upstream:
    """An upstream as stored (rows written before a field existed lack it: its default)."""
    return Upstream(**{k: v for k, v in stored.items() if k in _UPSTREAM_FIELDS})


async def all_models(conn: AsyncConnection) -> list[Model]:
    """Every stored model, with the prices in force now."""
    result = await conn.execute(select(models).order_by(models.c.id))
    rows = list(result)
    found = await prices.in_force(conn, None, time.time())
    return [_model(row, found.get(row.id)) for row in rows]


async def all_ids(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(select(models.c.id))).scalars())


async def models_by_id(conn: AsyncConnection, ids: Iterable[str]) -> list[Model]:
    rows: list[Any] = []
    for chunk in chunks(list(ids)):
        result = await conn.execute(select(models).where(models.c.id.in_(chunk)))
        rows.extend(result)
    if not rows:
        return []
    found = await prices.in_force(conn, [row.id for row in rows], time.time())
    return [_model(row, found.get(row.id)) for row in rows]


async def lock_models(conn: AsyncConnection, ids: Iterable[str]) -> None:
    """Hold these models' rows until the transaction ends (PostgreSQL: their row locks;
    SQLite: the database's write lock), so that a read-modify-write of a model never
    works from a copy another transaction is changing. The first statement of a write."""
    for chunk in chunks(sorted(set(ids))):  # one order: two writers never deadlock
        await conn.execute(
            models.update().where(models.c.id.in_(chunk)).values(updated_at=models.c.updated_at)
        )


async def count_models(conn: AsyncConnection) -> int:
    result = await conn.execute(select(func.count()).select_from(models))
    return int(result.scalar_one())


async def upsert_models(conn: AsyncConnection, entries: Sequence[Model]) -> tuple[int, int]:
    """Insert new models and replace existing ones; return (inserted, updated)."""
    if not entries:
        return 0, 0
    now = time.time()
    ids = [m.id for m in entries]
    existing = {m.id for m in await models_by_id(conn, ids)}
    rows = [_row(m, now) for m in entries]
    new = [r for r in rows if r["id"] not in existing]
    old = [r for r in rows if r["id"] in existing]
    if new:
        await conn.execute(models.insert(), new)
    for row in old:
        await conn.execute(models.update().where(models.c.id == row["id"]).values(**row))
    await changes.record(conn, changes.MODEL, ids)
    return len(new), len(old)


async def delete_model(conn: AsyncConnection, model_id: str) -> bool:
    result = await conn.execute(models.delete().where(models.c.id == model_id))
    await changes.record(conn, changes.MODEL, [model_id])
    return bool(result.rowcount)
