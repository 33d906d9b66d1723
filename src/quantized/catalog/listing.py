"""The catalog as callers see it: immutable snapshots that render each listing once.

``/v1/models`` answers from bytes rendered here. A :class:`Catalog` is built when
the stored catalog changes, never per request; the listing for a given access
rule is rendered on first use and kept until the next snapshot replaces this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from quantized.catalog.access import ModelAccess
from quantized.catalog.model import MODALITIES, Model


def public_fields(model: Model) -> dict[str, Any]:
    """Exactly the documented fields of one model, in the documented order."""
    return {
        "id": model.id,
        "name": model.name,
        "description": model.description,
        "model_author": model.author,
        "input_modality": {m: m in model.input_modalities for m in MODALITIES},
        "output_modality": {m: m in model.output_modalities for m in MODALITIES},
        "status": model.status,
        "supported_features": list(model.supported_features),
        "cost": model.cost.as_numbers(),
    }


def sdk_fields(model: Model) -> dict[str, Any]:
    """The documented fields plus what OpenAI's SDKs expect of a model object."""
    fields = public_fields(model)
    fields["object"] = "model"
    fields["created"] = model.created
    fields["owned_by"] = model.author
    return fields


@dataclass(frozen=True, slots=True)
class Rendered:
    """One response body in both shapes: the documented one and the SDK envelope."""

    plain: bytes
    sdk: bytes


_LISTING_CACHE_BYTES = 64 * 1024 * 1024


class Catalog:
    """An immutable view of the stored catalog, with memoised renderings."""

    __slots__ = ("_all", "_active", "_items", "_listings", "_cached_bytes", "everything")

    def __init__(self, models: Iterable[Model]) -> None:
        self._all: dict[str, Model] = {m.id: m for m in sorted(models, key=lambda m: m.id)}
        self._active: tuple[Model, ...] = tuple(m for m in self._all.values() if m.is_active)
        self._items: dict[str, tuple[bytes, bytes]] = {
            m.id: (orjson.dumps(public_fields(m)), orjson.dumps(sdk_fields(m)))
            for m in self._active
        }
        self._listings: dict[ModelAccess, Rendered] = {}
        self._cached_bytes = 0
        self.everything = self._render(self._active)

    def __len__(self) -> int:
        return len(self._all)

    @property
    def models(self) -> tuple[Model, ...]:
        """Every stored model, active or not, sorted by id."""
        return tuple(self._all.values())

    @property
    def active(self) -> tuple[Model, ...]:
        return self._active

    def get(self, model_id: str) -> Model | None:
        return self._all.get(model_id)

    def usable(self, model_id: str, access: ModelAccess) -> Model | None:
        """The model if it is active and ``access`` allows it: the one rule for every caller."""
        model = self._all.get(model_id)
        if model is None or not model.is_active or not access.allows(model_id):
            return None
        return model

    def visible(self, access: ModelAccess) -> list[Model]:
        return [m for m in self._active if access.allows(m.id)]

    def listing(self, access: ModelAccess) -> Rendered:
        """The ``/v1/models`` bodies for callers with this access rule."""
        if access.patterns is None:
            return self.everything
        rendered = self._listings.get(access)
        if rendered is None:
            rendered = self._render(self.visible(access))
            self._remember(access, rendered)
        return rendered

    def item(self, model_id: str, access: ModelAccess) -> Rendered | None:
        """The ``/v1/models/{id}`` bodies, or ``None`` if this caller cannot see the model."""
        if self.usable(model_id, access) is None:
            return None
        plain, sdk = self._items[model_id]
        return Rendered(plain, sdk)

    def _render(self, models: Iterable[Model]) -> Rendered:
        items = [self._items[m.id] for m in models]
        plain = b"[" + b",".join(p for p, _ in items) + b"]"
        sdk = b'{"object":"list","data":[' + b",".join(s for _, s in items) + b"]}"
        return Rendered(plain, sdk)

    def _remember(self, access: ModelAccess, rendered: Rendered) -> None:
        size = len(rendered.plain) + len(rendered.sdk)
        while self._listings and self._cached_bytes + size > _LISTING_CACHE_BYTES:
            oldest = next(iter(self._listings))
            gone = self._listings.pop(oldest)
            self._cached_bytes -= len(gone.plain) + len(gone.sdk)
        self._listings[access] = rendered
        self._cached_bytes += size
