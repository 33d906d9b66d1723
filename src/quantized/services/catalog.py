"""Administering the catalog (shared by the CLI and the admin API).

Every change happens in one transaction with its change-log rows (so running
servers pick it up) and its audit entries (so people can see who did what).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.catalog.aliases import Clash, clashes, keeping_aliases, without_clashes
from quantized.catalog.diff import (
    Plan,
    PlanOptions,
    pinnable,
    pinning,
    plan_import,
    settled,
    unpinning,
)
from quantized.catalog.document import model_json
from quantized.catalog.importers import Skipped
from quantized.catalog.model import Model
from quantized.catalog.schema import parse_entry
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.store import audit
from quantized.store import catalog as model_store
from quantized.store import prices as price_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction

SHIPPED_CATALOG = Path(__file__).resolve().parent.parent / "data" / "catalog.yaml"


@dataclass(frozen=True, slots=True)
class ImportResult:
    inserted: int
    updated: int
    dropped_aliases: tuple[Clash, ...] = ()
    """Aliases left out because another model has that name (``drop_clashing`` imports)."""
    unchanged: int = 0
    removed: int = 0
    """Stored models (of the selection) the source does not list."""
    deprecated: int = 0
    deleted: int = 0
    models: tuple[str, ...] = ()
    """The source's models the import covered: added, changed or unchanged."""
    skipped: tuple[Skipped, ...] = ()
    """The importer's skipped entries and the models the options left out."""


def _not_found(model_id: str) -> NotFoundError:
    return NotFoundError(
        f"no model '{model_id}' in the catalog", param="id", code="model_not_found"
    )


async def settle_aliases(
    conn: AsyncConnection, entries: Sequence[Model], *, drop: bool = False, document: bool = False
) -> tuple[list[Model], list[Clash]]:
    """``entries`` checked against every other stored model, so that a name means one model.

    A clash is a :class:`ConflictError` naming both models. With ``drop`` (imports from
    foreign catalogs, whose aliases are suggestions) a model keeps the aliases it has and
    gains the suggested ones, and a clashing alias is left out and returned; an entry
    whose id is another model's alias is still refused. ``document``: the entries are a
    document's ``models`` (``param`` then says which).
    """
    written = {m.id: i for i, m in enumerate(entries)}
    stored = {m.id: m for m in await model_store.all_models(conn)}
    kept = {i: m for i, m in stored.items() if i not in written}
    models = list(entries)
    dropped: list[Clash] = []
    if drop:
        holding = {m.id: stored[m.id].aliases for m in entries if m.id in stored}
        models, dropped = without_clashes(
            [keeping_aliases(m, stored.get(m.id)) for m in entries], kept, holding
        )
    found = clashes([*kept.values(), *models], involving=written)
    if not found:
        return models, dropped
    clash = min(found, key=lambda c: c.model not in written)  # the written model's view
    if clash.model in written:  # the written model's alias is taken
        index, field = written[clash.model], "aliases"
    else:  # the written model's id is another model's alias
        index, field = written[clash.other], "id"
    raise ConflictError(
        f"{clash.describe()}; a name may stand for one model only",
        param=f"models[{index}].{field}" if document else field,
        code="alias_conflict",
    )


async def write_models(
    conn: AsyncConnection, actor: Actor, action: str, entries: Sequence[Model]
) -> ImportResult:
    existing = {m.id: m for m in await model_store.models_by_id(conn, [m.id for m in entries])}
    inserted, updated = await model_store.upsert_models(conn, entries)
    now = time.time()
    await price_store.record(conn, actor, action, [m for m in entries if m.id in existing], now)
    await price_store.record(
        conn, actor, "model.create", [m for m in entries if m.id not in existing], now
    )
    await audit.record(
        conn,
        actor,
        [
            audit.Change(
                action if m.id in existing else "model.create",
                "model",
                m.id,
                model_json(existing[m.id]) if m.id in existing else None,
                model_json(m),
            )
            for m in entries
        ],
    )
    return ImportResult(inserted, updated)


async def _plan(
    conn: AsyncConnection,
    entries: Sequence[Model],
    options: PlanOptions | None,
    *,
    foreign: bool,
    skipped: Sequence[Skipped],
    parsed_at: int | None,
) -> tuple[Plan, list[Clash]]:
    """The plan of an import (:func:`quantized.catalog.diff.plan_import`) with the aliases
    of the models it writes settled against the rest of the catalog."""
    stored = await model_store.all_models(conn)
    plan = plan_import(
        stored, entries, options, foreign=foreign, skipped=skipped, parsed_at=parsed_at
    )
    try:
        models, dropped = await settle_aliases(conn, plan.candidates, drop=foreign, document=True)
    except ConflictError as exc:  # name the entry by its place in the document
        raise _in_document(exc, plan.positions) from None
    return settled(plan, models), dropped


def _in_document(exc: ConflictError, positions: Sequence[int]) -> ConflictError:
    param = exc.param or ""
    if param.startswith("models[") and "]" in param:
        index, _, rest = param[len("models[") :].partition("]")
        if index.isdigit() and int(index) < len(positions):
            param = f"models[{positions[int(index)]}]{rest}"
    return ConflictError(exc.message, param=param or None, code=exc.code)


async def import_models(
    engine: AsyncEngine,
    actor: Actor,
    entries: Sequence[Model],
    *,
    drop_clashing: bool = False,
    options: PlanOptions | None = None,
    skipped: Sequence[Skipped] = (),
    parsed_at: int | None = None,
) -> ImportResult:
    """Write what :func:`preview_import` shows, in one transaction: all of it or none.

    ``drop_clashing``: the entries come from a foreign catalog (see :func:`settle_aliases`
    and :func:`quantized.catalog.diff.plan_import`). Stored models the source lacks are
    deprecated or deleted if ``options.missing`` says so (audited as ``model.update`` and
    ``model.delete``). ``parsed_at``: the ``now`` the entries were parsed at (see
    :func:`quantized.catalog.diff.plan_import`).
    """
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [m.id for m in entries])
        if options is not None and options.missing != "keep":  # it may change any of them
            await model_store.lock_models(conn, await model_store.all_ids(conn))
        plan, dropped = await _plan(
            conn, entries, options, foreign=drop_clashing, skipped=skipped, parsed_at=parsed_at
        )
        await write_models(conn, actor, "model.update", [*plan.write, *plan.deprecate])
        for model_id in plan.delete:
            await model_store.delete_model(conn, model_id)
        await price_store.cancel_upcoming(conn, plan.delete, time.time())
        await audit.record(
            conn,
            actor,
            [
                audit.Change("model.delete", "model", i, model_json(plan.stored[i]), None)
                for i in plan.delete
            ],
        )
    return ImportResult(
        len(plan.added),
        len(plan.changed),
        tuple(dropped),
        unchanged=len(plan.unchanged),
        removed=len(plan.removed),
        deprecated=len(plan.deprecate),
        deleted=len(plan.delete),
        models=tuple(m.id for m in plan.candidates),
        skipped=plan.skipped,
    )


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What an import would do, field by field: nothing is written."""

    plan: Plan
    dropped_aliases: tuple[Clash, ...] = ()


async def preview_import(
    engine: AsyncEngine,
    entries: Sequence[Model],
    *,
    drop_clashing: bool = False,
    options: PlanOptions | None = None,
    skipped: Sequence[Skipped] = (),
    parsed_at: int | None = None,
) -> ImportPreview:
    """What :func:`import_models` would do with ``entries``, checked the same way (the same
    errors) and planned by the same function, without writing anything."""
    async with connection(engine) as conn:
        plan, dropped = await _plan(
            conn, entries, options, foreign=drop_clashing, skipped=skipped, parsed_at=parsed_at
        )
    return ImportPreview(plan, tuple(dropped))


async def pin_fields(
    engine: AsyncEngine, actor: Actor, model_id: str, fields: Sequence[str]
) -> Model:
    """Pin ``fields`` of a stored model (of :data:`quantized.catalog.model.PINNABLE`):
    imports leave them as they are. Audited as ``model.update``."""
    names = pinnable(fields, "fields")
    return await _repin(engine, actor, model_id, lambda pins: pinning(pins, names))


async def unpin_fields(
    engine: AsyncEngine, actor: Actor, model_id: str, fields: Sequence[str]
) -> Model:
    """Unpin ``fields`` (``cost`` unpins every price). Audited as ``model.update``."""
    names = pinnable(fields, "fields")
    return await _repin(engine, actor, model_id, lambda pins: unpinning(pins, names))


async def _repin(
    engine: AsyncEngine,
    actor: Actor,
    model_id: str,
    change: Callable[[tuple[str, ...]], tuple[str, ...]],
) -> Model:
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [model_id])
        found = await model_store.models_by_id(conn, [model_id])
        if not found:
            raise _not_found(model_id)
        model = found[0]
        pins = change(model.pinned)
        if pins == model.pinned:
            return model
        model = replace(model, pinned=pins)
        await write_models(conn, actor, "model.update", [model])
    return model


async def stored_models(engine: AsyncEngine) -> list[Model]:
    async with connection(engine) as conn:
        return await model_store.all_models(conn)


async def get_model(engine: AsyncEngine, model_id: str) -> Model:
    async with connection(engine) as conn:
        found = await model_store.models_by_id(conn, [model_id])
    if not found:
        raise _not_found(model_id)
    return found[0]


async def create_model(engine: AsyncEngine, actor: Actor, model: Model) -> Model:
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [model.id])
        if await model_store.models_by_id(conn, [model.id]):
            raise ConflictError(
                f"model '{model.id}' already exists", param="id", code="model_exists"
            )
        await settle_aliases(conn, [model])
        await write_models(conn, actor, "model.create", [model])
    return model


async def replace_model(engine: AsyncEngine, actor: Actor, model: Model) -> bool:
    """Create or replace; return whether it was created."""
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [model.id])
        await settle_aliases(conn, [model])
        result = await write_models(conn, actor, "model.replace", [model])
    return result.inserted == 1


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


async def patch_model(
    engine: AsyncEngine, actor: Actor, model_id: str, patch: dict[str, Any]
) -> Model:
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [model_id])
        found = await model_store.models_by_id(conn, [model_id])
        if not found:
            raise _not_found(model_id)
        current = model_json(found[0])
        merged = merge_patch(current, patch)
        if merged.get("id") != model_id:
            raise InvalidRequestError(
                "a model's id cannot be changed; create a new model", param="id"
            )
        model = parse_entry(merged, now=int(time.time()))
        await settle_aliases(conn, [model])
        await write_models(conn, actor, "model.update", [model])
    return model


async def delete_model(engine: AsyncEngine, actor: Actor, model_id: str) -> None:
    """Delete a model; its price history stays, prices still to come cancelled."""
    async with transaction(engine) as conn:
        await model_store.lock_models(conn, [model_id])
        found = await model_store.models_by_id(conn, [model_id])
        if not found:
            raise _not_found(model_id)
        await model_store.delete_model(conn, model_id)
        await price_store.cancel_upcoming(conn, [model_id], time.time())
        await audit.record(
            conn,
            actor,
            [audit.Change("model.delete", "model", model_id, model_json(found[0]), None)],
        )
