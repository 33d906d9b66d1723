"""Anthropic's shape of the listing: pages cut by cursor, and one model, rendered.

Anthropic's SDKs read ``GET /v1/models`` as ``{"data", "has_more", "first_id",
"last_id"}`` and page through it with ``limit`` and a cursor: ``after_id`` (the
``last_id`` of the page before) or ``before_id`` (the ``first_id`` of the page
after). Pages are cut from the very list the plain listing shows the caller
(:meth:`~quantized.catalog.listing.Catalog.visible`, sorted by id), so walking
them yields exactly that listing; the plain listing's filters apply too.

A cursor must name a model of that list: one that does not (unknown, never
visible to this caller, or gone since the page before) is a 400 naming the
parameter, not an empty page that would end a walk early and silently.
These bodies are rendered per request: they are not the hot path, and their
cursors would make a cache of them unbounded.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from quantized.catalog.filters import FILTERS, ListingFilter, filter_of, query_pairs
from quantized.catalog.model import Model
from quantized.errors import InvalidRequestError

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
CURSORS = ("after_id", "before_id")
PARAMETERS = ("limit", *CURSORS)
_DIGITS = re.compile(r"^[0-9]{1,7}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
_LAST = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds())


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page: at most ``limit`` models after ``after_id``, before ``before_id``, or first."""

    limit: int = DEFAULT_LIMIT
    after_id: str | None = None
    before_id: str | None = None
    where: ListingFilter | None = None


def parse_page(query: str) -> PageRequest:
    """The page a query string asks for; anything invalid is a 400 naming the parameter."""
    found: dict[str, str] = {}
    filters: list[tuple[str, str]] = []
    for name, value in query_pairs(query) if query else ():
        if name in PARAMETERS:
            if name in found:
                raise InvalidRequestError(f"{name} given more than once", param=name)
            found[name] = value
        elif name in FILTERS:
            filters.append((name, value))
        else:
            raise InvalidRequestError(
                f"unknown query parameter '{name[:50]}'; this listing takes "
                f"{', '.join(PARAMETERS)} and the filters {', '.join(FILTERS)}",
                param=name[:50],
            )
    if "after_id" in found and "before_id" in found:
        raise InvalidRequestError("give after_id or before_id, not both", param="before_id")
    limit = _limit(found.get("limit"))
    return PageRequest(limit, found.get("after_id"), found.get("before_id"), filter_of(filters))


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequestError(
            f"limit must be an integer from 1 to {MAX_LIMIT}, not '{raw[:50]}'", param="limit"
        )
    return int(raw)


def created_at(seconds: int) -> str:
    """RFC 3339 in UTC, to the second (``2025-02-19T00:00:00Z``); 0 is the epoch, as Anthropic
    writes an unknown release date. The catalog takes any offset's years 1 to 9999, which in
    UTC may fall a day outside them: such a time is written as the nearest one within."""
    moment = _EPOCH + timedelta(seconds=min(max(seconds, _FIRST), _LAST))
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def anthropic_fields(model: Model) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.name,
        "created_at": created_at(model.created),
    }


def render_model(model: Model) -> bytes:
    """``GET /v1/models/{id}`` in Anthropic's shape."""
    return orjson.dumps(anthropic_fields(model))


def render_page(models: Sequence[Model], page: PageRequest) -> bytes:
    """One page of ``models`` (sorted by id): ``has_more`` says whether more lie in the
    direction the page was asked in (after it; before it for ``before_id``)."""
    if page.after_id is not None:
        start = _position(models, page.after_id, "after_id") + 1
        end = min(len(models), start + page.limit)
        more = end < len(models)
    elif page.before_id is not None:
        end = _position(models, page.before_id, "before_id")
        start = max(0, end - page.limit)
        more = start > 0
    else:
        start, end = 0, min(len(models), page.limit)
        more = end < len(models)
    chosen = models[start:end]
    return orjson.dumps(
        {
            "data": [anthropic_fields(m) for m in chosen],
            "has_more": more,
            "first_id": chosen[0].id if chosen else None,
            "last_id": chosen[-1].id if chosen else None,
        }
    )


def _position(models: Sequence[Model], cursor: str, param: str) -> int:
    index = bisect_left(models, cursor, key=lambda m: m.id)
    if index == len(models) or models[index].id != cursor:
        raise InvalidRequestError(
            f"{param} '{cursor[:200]}' is not a model of this listing; "
            "use the first_id or last_id of a page",
            param=param,
        )
    return index
