"""The catalog as callers see it: immutable snapshots that render each listing once.

``/v1/models`` answers from bytes rendered here. A :class:`Catalog` is built when
the stored catalog changes, never per request (and reuses the rendering of every
model that did not change); the listing for a given access rule and filter is
rendered on first use and kept until the next snapshot replaces this one.
"""

from __future__ import annotations

import gzip
import hashlib
import math
from collections.abc import Iterable
from typing import Any

import orjson

from quantized.catalog.access import ModelAccess
from quantized.catalog.aliases import names
from quantized.catalog.filters import ListingFilter
from quantized.catalog.model import MODALITIES, Model
from quantized.errors import GoneError, NotFoundError, PermissionDeniedError

_LISTING_CACHE_BYTES = 64 * 1024 * 1024


def public_fields(model: Model) -> dict[str, Any]:
    """The documented fields of one model, in the documented order, then ``endpoints``
    (the model APIs it serves) and ``context_length`` (tokens, or null when not known):
    additive, after every documented field."""
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
        "endpoints": list(model.endpoints),
        "context_length": model.context_length,
    }


def sdk_fields(model: Model) -> dict[str, Any]:
    """The documented fields plus what OpenAI's SDKs expect of a model object."""
    fields = public_fields(model)
    fields["object"] = "model"
    fields["created"] = model.created
    fields["owned_by"] = model.author
    return fields


class Body:
    """One rendered body, with its content digest (``tag``) and, on demand, its gzip form."""

    __slots__ = ("data", "tag", "_gzip", "_gzip_tag")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.tag = b'"' + hashlib.blake2b(data, digest_size=12).hexdigest().encode() + b'"'
        self._gzip: bytes | None = None
        self._gzip_tag = self.tag[:-1] + b'-gz"'

    @property
    def gzip_tag(self) -> bytes:
        return self._gzip_tag

    @property
    def gzipped(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.data, compresslevel=6, mtime=0)
        return self._gzip


class Rendered:
    """One response in both shapes: the documented one and the SDK envelope."""

    __slots__ = ("plain", "sdk")

    def __init__(self, plain: bytes, sdk: bytes) -> None:
        self.plain = Body(plain)
        self.sdk = Body(sdk)

    @property
    def size(self) -> int:
        return len(self.plain.data) + len(self.sdk.data)


class Catalog:
    """An immutable view of the stored catalog, with memoised renderings."""

    __slots__ = (
        "_all",
        "_names",
        "_active",
        "_items",
        "_listings",
        "_cached_bytes",
        "everything",
        "switch_at",
    )

    def __init__(self, models: Iterable[Model], previous: Catalog | None = None) -> None:
        self._all: dict[str, Model] = {m.id: m for m in sorted(models, key=lambda m: m.id)}
        self._names: dict[str, Model] = names(self._all.values())
        """Ids and aliases: resolving either is one dict lookup."""
        self._active: tuple[Model, ...] = tuple(m for m in self._all.values() if m.is_active)
        reuse = previous._items if previous is not None else {}
        old = previous._all if previous is not None else {}
        self._items: dict[str, tuple[bytes, bytes]] = {}
        for m in self._active:
            kept = reuse.get(m.id)
            if kept is not None and old.get(m.id) == m:
                self._items[m.id] = kept
            else:
                self._items[m.id] = (orjson.dumps(public_fields(m)), orjson.dumps(sdk_fields(m)))
        self._listings: dict[object, Rendered] = {}
        self._cached_bytes = 0
        self.everything = self._render(self._active)
        self.switch_at = min(
            (m.scheduled[0].effective_from for m in self._all.values() if m.scheduled),
            default=math.inf,
        )
        """When the next scheduled price takes effect (unix seconds; ``inf``: none)."""

    def at(self, when: float) -> Catalog:
        """The snapshot with the prices due at ``when`` in force (itself if none is due).
        Requests are charged the price in force when they began whatever the snapshot
        (:meth:`Model.price_at`); this keeps the listing's ``cost`` in step."""
        if when < self.switch_at:
            return self
        return Catalog((m.at(when) for m in self._all.values()), previous=self)

    def __len__(self) -> int:
        return len(self._all)

    def with_changes(self, changed: Iterable[Model], removed: Iterable[str]) -> Catalog:
        """A new snapshot with some models replaced, added or removed."""
        models = dict(self._all)
        for model_id in removed:
            models.pop(model_id, None)
        for model in changed:
            models[model.id] = model
        return Catalog(models.values(), previous=self)

    @property
    def models(self) -> tuple[Model, ...]:
        """Every stored model, active or not, sorted by id."""
        return tuple(self._all.values())

    @property
    def active(self) -> tuple[Model, ...]:
        return self._active

    def get(self, name: str) -> Model | None:
        """The model a caller's name means: its id, or one of its aliases."""
        return self._names.get(name)

    def usable(self, model_id: str, access: ModelAccess, *, say_forbidden: bool = False) -> Model:
        """The model if the caller may use it: the one rule for listing, retrieval and requests.

        ``model_id`` may be an alias; access rules apply to the model's id, as in the
        listing, so a name cannot open a model its id does not.

        Raises :class:`NotFoundError` for unknown and disabled models, and for forbidden
        ones too unless ``say_forbidden`` (then :class:`PermissionDeniedError`: requests
        say why, the listing and retrieval do not reveal what a caller cannot see), and
        :class:`GoneError` for deprecated ones.
        """
        model = self._names.get(model_id)
        allowed = model is not None and access.allows(model.id)
        if model is None or model.status == "disabled" or not (allowed or say_forbidden):
            raise NotFoundError(
                f"The model '{model_id[:200]}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        if not allowed:
            raise PermissionDeniedError(
                f"Your credentials may not use the model '{model_id}'.",
                param="model",
                code="model_not_allowed",
            )
        if model.status == "deprecated":
            raise GoneError(
                f"The model '{model_id}' is deprecated and no longer served; "
                "GET /v1/models lists the current ones.",
                param="model",
                code="model_deprecated",
            )
        return model

    def visible(self, access: ModelAccess, where: ListingFilter | None = None) -> list[Model]:
        return [
            m for m in self._active if access.allows(m.id) and (where is None or where.matches(m))
        ]

    def listing(self, access: ModelAccess, where: ListingFilter | None = None) -> Rendered:
        """The ``/v1/models`` bodies for callers with this access rule (and filter)."""
        if access.unrestricted and where is None:
            return self.everything
        key: object = access if where is None else (access, where)
        rendered = self._listings.get(key)
        if rendered is None:
            rendered = self._render(self.visible(access, where))
            self._remember(key, rendered)
        return rendered

    def item(self, model_id: str, access: ModelAccess) -> Rendered:
        """The ``/v1/models/{id}`` bodies (see :meth:`usable` for the errors)."""
        model = self.usable(model_id, access)
        key = ("item", model.id)
        rendered = self._listings.get(key)
        if rendered is None:
            rendered = Rendered(*self._items[model.id])
            self._remember(key, rendered)
        return rendered

    def _render(self, models: Iterable[Model]) -> Rendered:
        items = [self._items[m.id] for m in models]
        plain = b"[" + b",".join(p for p, _ in items) + b"]"
        sdk = b'{"object":"list","data":[' + b",".join(s for _, s in items) + b"]}"
        return Rendered(plain, sdk)

    def _remember(self, key: object, rendered: Rendered) -> None:
        size = rendered.size
        while self._listings and self._cached_bytes + size > _LISTING_CACHE_BYTES:
            oldest = next(iter(self._listings))
            self._cached_bytes -= self._listings.pop(oldest).size
        self._listings[key] = rendered
        self._cached_bytes += size
