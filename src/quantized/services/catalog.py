"""Administering the catalog (shared by the CLI and the admin API).

Every change happens in one transaction with its change-log rows (so running
servers pick it up) and its audit entries (so people can see who did what).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.catalog.aliases import Clash, clashes, keeping_aliases, without_clashes
from quantized.catalog.document import model_json
from quantized.catalog.model import Model
from quantized.catalog.schema import parse_entry
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.store import audit
from quantized.store import catalog as model_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction

SHIPPED_CATALOG = Path(__file__).resolve().parent.parent / "data" / "catalog.yaml"


@dataclass(frozen=True, slots=True)
class ImportResult:
    inserted: int
    updated: int
    dropped_aliases: tuple[Clash, ...] = ()
    """Aliases left out because another model has that name (``drop_clashing`` imports)."""


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
        models, dropped = without_clashes(
            [keeping_aliases(m, stored.get(m.id)) for m in entries], kept
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


async def import_models(
    engine: AsyncEngine, actor: Actor, entries: Sequence[Model], *, drop_clashing: bool = False
) -> ImportResult:
    """Upsert models in one transaction: all of them or none (see :func:`settle_aliases`)."""
    async with transaction(engine) as conn:
        models, dropped = await settle_aliases(conn, entries, drop=drop_clashing, document=True)
        result = await write_models(conn, actor, "model.update", models)
    return ImportResult(result.inserted, result.updated, tuple(dropped))


@dataclass(frozen=True, slots=True)
class FieldChange:
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What an import would do, field by field: nothing is written."""

    added: list[str]
    changed: list[tuple[str, dict[str, FieldChange]]]
    unchanged: list[str]
    dropped_aliases: tuple[Clash, ...] = ()


def _flat(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A model object's fields with nested objects as dotted names (``cost.prompt``)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def field_changes(old: Model, new: Model) -> dict[str, FieldChange]:
    """The fields whose admin-API form (:func:`model_json`) differs, by dotted name.

    A nested object that appears or goes (a ``price_source``) is one change of the whole
    object; lists (aliases, upstreams) are compared whole.
    """
    before, after = model_json(old), model_json(new)
    changes: dict[str, FieldChange] = {}
    for key in dict.fromkeys((*before, *after)):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            flat_was, flat_now = _flat(was, f"{key}."), _flat(now, f"{key}.")
            for name in dict.fromkeys((*flat_was, *flat_now)):
                if flat_was.get(name) != flat_now.get(name):
                    changes[name] = FieldChange(flat_was.get(name), flat_now.get(name))
        else:
            changes[key] = FieldChange(was, now)
    return changes


async def preview_import(
    engine: AsyncEngine, entries: Sequence[Model], *, drop_clashing: bool = False
) -> ImportPreview:
    """What :func:`import_models` would do with ``entries``, checked the same way (the same
    errors), without writing anything: the models added, changed (with their fields) and
    unchanged."""
    async with connection(engine) as conn:
        models, dropped = await settle_aliases(conn, entries, drop=drop_clashing, document=True)
        stored = {m.id: m for m in await model_store.models_by_id(conn, [m.id for m in models])}
    added: list[str] = []
    changed: list[tuple[str, dict[str, FieldChange]]] = []
    unchanged: list[str] = []
    for model in models:
        previous = stored.get(model.id)
        if previous is None:
            added.append(model.id)
            continue
        fields = field_changes(previous, model)
        if fields:
            changed.append((model.id, fields))
        else:
            unchanged.append(model.id)
    return ImportPreview(added, changed, unchanged, tuple(dropped))


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
    async with transaction(engine) as conn:
        found = await model_store.models_by_id(conn, [model_id])
        if not found:
            raise _not_found(model_id)
        await model_store.delete_model(conn, model_id)
        await audit.record(
            conn,
            actor,
            [audit.Change("model.delete", "model", model_id, model_json(found[0]), None)],
        )
