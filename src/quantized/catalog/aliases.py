"""Model aliases: the names callers already use for a model, resolved to its catalog id.

Clients send their provider's own names (Claude Code sends ``claude-sonnet-4-6``, the
OpenAI SDKs ``gpt-4.1-nano``); a catalog entry lists them as ``aliases``. An alias is
accepted wherever a model id is, and stands for exactly that model: access rules,
prices and the ledger see the canonical id. So that a name can only ever mean one
model, an alias may not equal any model's id nor another model's alias; these
functions find such clashes for every writer (catalog files, the admin API, imports).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from quantized.catalog.model import Model

ALIAS_PATTERN = r"^(?:[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._:-]*$"
"""An id's rules, the ``author/`` part optional (providers' names rarely have one)."""
MAX_ALIASES = 32
MAX_ALIAS_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Clash:
    """``alias`` of ``model`` already names ``other`` (as its id, or as an alias)."""

    model: str
    alias: str
    other: str
    is_id: bool

    def describe(self) -> str:
        if self.is_id and self.other == self.model:
            return f"alias '{self.alias}' of '{self.model}' is its own id"
        what = "the id of" if self.is_id else "an alias of"
        return f"alias '{self.alias}' of '{self.model}' is already {what} '{self.other}'"


def names(models: Iterable[Model]) -> dict[str, Model]:
    """Every name a model answers to: ids first (an id always wins), then aliases.

    Clashes are refused when the catalog is written; should stored data hold one
    anyway (two writers racing on different servers), the model with the smallest id
    keeps the alias, so every server resolves a name the same way.
    """
    ordered = sorted(models, key=lambda m: m.id)
    found: dict[str, Model] = {m.id: m for m in ordered}
    for model in ordered:
        for alias in model.aliases:
            found.setdefault(alias, model)
    return found


def clashes(models: Iterable[Model], involving: Iterable[str] | None = None) -> list[Clash]:
    """Every clash among ``models`` that involves a model whose id is in ``involving``
    (as the alias's holder, or as the model it already names); all of them if None."""
    everyone = sorted(models, key=lambda m: m.id)
    ids = {m.id for m in everyone}
    holders: dict[str, list[str]] = {}
    for model in everyone:
        for alias in model.aliases:
            holders.setdefault(alias, []).append(model.id)
    found: list[Clash] = []
    for model in everyone:
        for alias in model.aliases:
            if alias in ids:
                found.append(Clash(model.id, alias, alias, is_id=True))
                continue
            found.extend(
                Clash(model.id, alias, other, is_id=False)
                for other in holders[alias]
                if other != model.id
            )
    if involving is None:
        return found
    wanted = set(involving)
    return [c for c in found if c.model in wanted or c.other in wanted]


def keeping_aliases(model: Model, previous: Model | None) -> Model:
    """``model`` keeping the aliases ``previous`` (its stored version) has, then its own."""
    if previous is None or not previous.aliases:
        return model
    aliases = tuple(dict.fromkeys((*previous.aliases, *model.aliases)))[:MAX_ALIASES]
    return dataclasses.replace(model, aliases=aliases)


def without_clashes(
    models: Iterable[Model],
    kept: Mapping[str, Model] | None = None,
    holding: Mapping[str, Iterable[str]] | None = None,
) -> tuple[list[Model], list[Clash]]:
    """``models`` minus each alias that clashes with ``kept`` (models not being written),
    with an id among ``models``, or with an earlier model's alias; and what was dropped.
    ``holding``: aliases models being written have already (by id): theirs first, whatever
    the order of ``models``, so a suggestion never takes a name from the model that has it.

    Importers use it: an alias a foreign catalog suggests is a convenience, not worth
    failing an import for.
    """
    kept = kept or {}
    given = list(models)
    taken = names(kept.values())
    for model in given:
        taken[model.id] = model
    for model in given:
        for alias in (holding or {}).get(model.id, ()):
            taken.setdefault(alias, model)
    result: list[Model] = []
    dropped: list[Clash] = []
    for model in given:
        aliases: list[str] = []
        for alias in model.aliases:
            holder = taken.get(alias)
            if holder is not None and holder.id != model.id:
                dropped.append(Clash(model.id, alias, holder.id, is_id=holder.id == alias))
                continue
            taken[alias] = model
            aliases.append(alias)
        if len(aliases) != len(model.aliases):
            model = dataclasses.replace(model, aliases=tuple(aliases))
        result.append(model)
    return result, dropped
