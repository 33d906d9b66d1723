"""What an import does, model by model and field by field, decided before anything is written.

:func:`plan_import` takes the stored catalog, the models a source gives and the import's
limits, and answers a :class:`Plan`: the models to write (added, changed), what a stored
model's pins kept, the stored models the source no longer lists (and what becomes of
them), the entries skipped and why. A dry run reports the plan; an import writes it, so
a diff is exactly what the import does. :func:`drift` compares prices only (``quantized
models check``). Pure: no I/O, no SQL, no HTTP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from quantized.catalog.aliases import Clash, keeping_aliases
from quantized.catalog.document import model_json
from quantized.catalog.importers import Skipped
from quantized.catalog.model import PINNABLE, Model
from quantized.errors import InvalidRequestError

MISSING: tuple[str, ...] = ("keep", "deprecate", "delete")
"""What an import does with stored models its source does not list."""
PRICES: tuple[str, ...] = (
    "cost.prompt",
    "cost.completion",
    "cost.input_cache_read",
    "cost.input_cache_write",
)
ONLY_STORED = "not in the catalog; --only updates stored models only"
_FIELDS = {  # a pinnable top-level field and the Model attribute holding it
    **{f: f for f in PINNABLE if f != "cost" and not f.startswith("cost.")},
    "scheduled_prices": "scheduled",
}


def expand(fields: Iterable[str]) -> frozenset[str]:
    """Field names with ``cost`` standing for each of the four prices."""
    names = set(fields)
    if "cost" in names:
        names.update(PRICES)
    return frozenset(names)


def pins_held(pinned: Iterable[str]) -> frozenset[str]:
    """What a model's pins keep from imports: ``expand`` of them, and its scheduled prices
    whenever a price is pinned (a scheduled price would change a pinned one in time)."""
    names = expand(pinned)
    if names & set(PRICES):
        names |= {"scheduled_prices"}
    return names


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def pinnable(values: Iterable[str], param: str) -> tuple[str, ...]:
    """Field names (each value may list several, comma-separated), in :data:`PINNABLE`'s
    order; an unknown one is an error naming ``param``."""
    names = _split(values)
    for name in names:
        if name not in PINNABLE:
            raise InvalidRequestError(
                f"{param}: '{name[:100]}' is not a field an import can change; use "
                f"{', '.join(PINNABLE)}",
                param=param,
            )
    if not names:
        raise InvalidRequestError(f"{param}: name one or more fields, such as cost", param=param)
    return tuple(f for f in PINNABLE if f in names)


def globs(values: Iterable[str], param: str) -> tuple[str, ...]:
    """Model id globs (``openai/*``), each value possibly comma-separated."""
    found = tuple(dict.fromkeys(_split(values)))
    if not found:
        raise InvalidRequestError(f"{param}: give one or more globs, such as openai/*", param=param)
    return found


def pinning(current: Sequence[str], fields: Iterable[str]) -> tuple[str, ...]:
    """``current`` pins plus ``fields``."""
    wanted = {*current, *fields}
    return tuple(f for f in PINNABLE if f in wanted)


def unpinning(current: Sequence[str], fields: Iterable[str]) -> tuple[str, ...]:
    """``current`` pins minus ``fields``: unpinning ``cost`` unpins every price; unpinning
    one price while ``cost`` is pinned keeps the other three pinned."""
    gone = expand(fields)
    kept = set(current)
    if "cost" in kept and gone & set(PRICES):
        kept = (kept - {"cost"}) | set(PRICES)
    return tuple(f for f in PINNABLE if f in kept - gone)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """An import's limits: ``only`` these fields of stored models change (all if empty);
    ``models`` globs select the models added, changed and removed (all if empty);
    ``missing`` says what becomes of selected stored models the source lacks."""

    only: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    missing: str = "keep"

    def __post_init__(self) -> None:
        if self.missing not in MISSING:
            raise InvalidRequestError(f"missing: use {', '.join(MISSING)}", param="missing")

    def selects(self, model_id: str) -> bool:
        return not self.models or any(fnmatchcase(model_id, g) for g in self.models)


@dataclass(frozen=True, slots=True)
class FieldChange:
    old: Any
    new: Any


def relative(old: Any, new: Any) -> float | None:
    """(new − old) / old, or ``None`` when there is no old price (or it is 0)."""
    if not isinstance(old, int | float) or not isinstance(new, int | float) or old == 0:
        return None
    return (new - old) / old


@dataclass(frozen=True, slots=True)
class ModelDiff:
    id: str
    fields: dict[str, FieldChange]


@dataclass(frozen=True, slots=True)
class Removed:
    """A selected stored model the source does not list, and what the import does with it."""

    id: str
    status: str
    action: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    candidates: tuple[Model, ...]
    """Every selected model of the source, merged with its stored version, in source order."""
    positions: tuple[int, ...]
    """Each candidate's index among the source's models."""
    stored: Mapping[str, Model] = field(repr=False)
    pinned: tuple[ModelDiff, ...]
    """Fields the source would change that the stored model's pins keep (old: stored,
    new: the source's)."""
    removed: tuple[Removed, ...]
    skipped: tuple[Skipped, ...]
    added: tuple[str, ...] = ()
    changed: tuple[ModelDiff, ...] = ()
    unchanged: tuple[str, ...] = ()
    write: tuple[Model, ...] = ()
    """The candidates that are new or changed: what the import upserts."""

    @property
    def deprecate(self) -> tuple[Model, ...]:
        return tuple(
            replace(self.stored[r.id], status="deprecated")
            for r in self.removed
            if r.action == "deprecate"
        )

    @property
    def delete(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.removed if r.action == "delete")


def _flat(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
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
    object; lists (aliases, upstreams, scheduled prices) are compared whole.
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


def _owner(name: str) -> str | None:
    """The pinnable field a dotted change belongs to (``price_source.url``: price_source)."""
    if name in PRICES or name in _FIELDS:
        return name
    head = name.partition(".")[0]
    return head if head in _FIELDS else None


def _merged(stored: Model, source: Model, take: frozenset[str], foreign: bool) -> Model:
    """``stored`` with the ``take`` fields as ``source`` has them."""
    values: dict[str, Any] = {
        attr: getattr(source, attr) for name, attr in _FIELDS.items() if name in take
    }
    if "aliases" in take and foreign:  # a foreign catalog's aliases are suggestions
        values["aliases"] = keeping_aliases(source, stored).aliases
    prices = {p[5:]: getattr(source.cost, p[5:]) for p in PRICES if p in take}
    cost = replace(stored.cost, **prices)
    if cost != stored.cost:
        values.update(cost=cost, price_id=None, superseded=None)
    return replace(stored, **values)


def plan_import(
    stored: Iterable[Model],
    source: Sequence[Model],
    options: PlanOptions | None = None,
    *,
    foreign: bool = False,
    skipped: Sequence[Skipped] = (),
    parsed_at: int | None = None,
) -> Plan:
    """What importing ``source`` into ``stored`` does under ``options``.

    A stored model's pinned fields keep their stored values; a source entry's own pins
    are added to the stored ones (unless ``only`` limits the fields). ``foreign`` (an
    OpenRouter or LiteLLM catalog): its aliases are added to the stored ones and the
    stored scheduled prices stay; otherwise the entry's schedule replaces the stored one.
    ``parsed_at``: the instant the source was parsed at, which is the ``created`` of an
    entry that gives none (all of LiteLLM's): a stored model keeps its own then.
    """
    options = options or PlanOptions()
    known = {m.id: m for m in stored}
    fields = expand(options.only or PINNABLE)
    if foreign:  # what foreign catalogs do not say: the schedule, and an operator's status
        fields -= {"scheduled_prices", "status"}
    if options.missing != "keep" and not any(options.selects(m.id) for m in source):
        raise InvalidRequestError(
            f"the source lists no model (within the selection): refusing to {options.missing} "
            "every stored model; check the file, or delete models one by one",
            param="missing",
        )
    candidates: list[Model] = []
    positions: list[int] = []
    pinned: list[ModelDiff] = []
    passed: list[Skipped] = list(skipped)
    for index, model in enumerate(source):
        if not options.selects(model.id):
            continue
        previous = known.get(model.id)
        if previous is None:
            if options.only:
                passed.append(Skipped(model.id, ONLY_STORED))
                continue
            candidates.append(model)
            positions.append(index)
            continue
        if model.created == parsed_at:  # the source does not say
            model = replace(model, created=previous.created)
        pins = pins_held(previous.pinned)
        merged = _merged(previous, model, fields - pins, foreign)
        if not options.only:
            merged = replace(merged, pinned=pinning(previous.pinned, model.pinned))
        held = {
            name: change
            for name, change in field_changes(
                previous, _merged(previous, model, fields, foreign)
            ).items()
            if _owner(name) in pins
        }
        if held:
            pinned.append(ModelDiff(model.id, held))
        candidates.append(merged)
        positions.append(index)
    given = {m.id for m in source}
    removed = tuple(
        _removed(m, options.missing)
        for m in sorted(known.values(), key=lambda m: m.id)
        if m.id not in given and options.selects(m.id)
    )
    plan = Plan(tuple(candidates), tuple(positions), known, tuple(pinned), removed, tuple(passed))
    return settled(plan, plan.candidates)


def _removed(model: Model, missing: str) -> Removed:
    if missing == "deprecate" and model.status != "active":
        return Removed(model.id, model.status, "keep", f"already {model.status}")
    if missing == "deprecate" and "status" in model.pinned:
        return Removed(model.id, model.status, "keep", "status is pinned")
    return Removed(model.id, model.status, missing)


def settled(plan: Plan, candidates: Sequence[Model]) -> Plan:
    """``plan`` with its candidates as given (after their aliases were settled against
    the rest of the catalog): which are added, changed or unchanged follows."""
    added: list[str] = []
    changed: list[ModelDiff] = []
    unchanged: list[str] = []
    write: list[Model] = []
    for model in candidates:
        previous = plan.stored.get(model.id)
        if previous is None:
            added.append(model.id)
            write.append(model)
            continue
        fields = field_changes(previous, model)
        if fields:
            changed.append(ModelDiff(model.id, fields))
            write.append(model)
        else:
            unchanged.append(model.id)
    return dataclasses.replace(
        plan,
        candidates=tuple(candidates),
        added=tuple(added),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        write=tuple(write),
    )


def _changes_json(diffs: Iterable[ModelDiff]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for diff in diffs:
        fields: dict[str, Any] = {}
        for name, change in diff.fields.items():
            shown: dict[str, Any] = {"old": change.old, "new": change.new}
            if name in PRICES:
                change_by = relative(change.old, change.new)
                shown["relative"] = None if change_by is None else round(change_by, 6)
            fields[name] = shown
        out.append({"id": diff.id, "fields": fields})
    return out


def preview_json(plan: Plan, *, format: str, dropped: Iterable[Clash] = ()) -> dict[str, Any]:
    """The dry run's answer (``POST /admin/v1/models/import?dry_run=true``, ``quantized
    models diff --json``)."""
    return {
        "object": "catalog.import_preview",
        "format": format,
        "dry_run": True,
        "added": list(plan.added),
        "changed": _changes_json(plan.changed),
        "pinned": _changes_json(plan.pinned),
        "removed": [
            {"id": r.id, "status": r.status, "action": r.action, "note": r.note}
            for r in plan.removed
        ],
        "unchanged": list(plan.unchanged),
        "skipped": [{"name": s.name, "reason": s.reason} for s in plan.skipped],
        "aliases_skipped": [{"name": c.alias, "reason": c.describe()} for c in dropped],
    }
