"""Catalog importers: our format, OpenRouter's model list, LiteLLM's price file.

Every importer returns models in our terms plus the entries it skipped, with the
reason; it never half-imports: a malformed document is an error naming the entry,
and the caller writes the models in one transaction. Aliases a foreign catalog
suggests (a provider's own name for a model) are conveniences: one that clashes
with another model's name is left out and reported, never a reason to fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from quantized.catalog.aliases import Clash, without_clashes
from quantized.catalog.document import load_catalog_text
from quantized.catalog.model import Model
from quantized.catalog.schema import parse_entry
from quantized.errors import CatalogFormatError


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Imported:
    models: list[Model]
    skipped: list[Skipped] = field(default_factory=list)
    dropped_aliases: list[Clash] = field(default_factory=list)


def checked_date(now: int) -> str:
    """The ``price_source.checked`` date an import at ``now`` records."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()


def collect(entries: Iterable[tuple[str, dict[str, Any] | Skipped]], *, now: int) -> Imported:
    """Validate translated entries, given as ``(label, entry-or-Skipped)`` pairs.

    The first entry with an id wins; later ones are skipped, and so is an alias some
    earlier entry already has. A translated entry our schema rejects fails the whole
    import, naming ``label``.
    """
    models: list[Model] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for label, entry in entries:
        if isinstance(entry, Skipped):
            skipped.append(entry)
            continue
        if entry["id"] in seen:
            skipped.append(Skipped(label, f"same id as an earlier entry ({entry['id']})"))
            continue
        seen.add(entry["id"])
        try:
            models.append(parse_entry(entry, now=now))
        except CatalogFormatError as exc:
            raise CatalogFormatError(
                f"invalid catalog: entry '{label[:200]}' ({exc.message})", param=exc.param
            ) from None
    kept, dropped = without_clashes(models)
    return Imported(kept, skipped, dropped)


def _quantized(text: bytes, now: int) -> Imported:
    return Imported(load_catalog_text(text, now=now))


def _openrouter(text: bytes, now: int) -> Imported:
    from quantized.catalog.importers.openrouter import parse

    return parse(_json(text), now=now)


def _litellm(text: bytes, now: int) -> Imported:
    from quantized.catalog.importers.litellm import parse

    return parse(_json(text), now=now)


def _json(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CatalogFormatError(f"invalid catalog: not valid JSON ({exc})") from None


FORMATS: dict[str, Callable[[bytes, int], Imported]] = {
    "quantized": _quantized,
    "openrouter": _openrouter,
    "litellm": _litellm,
}


def parse_foreign(name: str, text: bytes, *, now: int) -> Imported:
    """Parse ``text`` in the named format (a key of :data:`FORMATS`)."""
    return FORMATS[name](text, now)
