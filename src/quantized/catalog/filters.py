"""Listing filters: ``author``, ``input_modality``, ``output_modality``,
``supported_features``, ``endpoint``.

Each filter takes one value or a comma-separated list. Several values of ``author``,
of the modalities and of ``endpoint`` mean "any of"; several ``supported_features``
mean "all of". Different filters must all hold. Unknown parameters and unknown
modality, feature or endpoint values are errors naming them; an author with no models
simply lists none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from quantized.catalog.model import ENDPOINTS, FEATURES, MODALITIES, Model
from quantized.errors import InvalidRequestError

AUTHOR = "[a-z0-9][a-z0-9._-]*"
_AUTHOR = re.compile(f"^{AUTHOR}$")
FILTERS = ("author", "input_modality", "output_modality", "supported_features", "endpoint")


@dataclass(frozen=True, slots=True)
class ListingFilter:
    authors: frozenset[str] = frozenset()
    input_modalities: frozenset[str] = frozenset()
    output_modalities: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    endpoints: frozenset[str] = frozenset()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (
            self.authors,
            self.input_modalities,
            self.output_modalities,
            self.features,
            self.endpoints,
        )
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    def matches(self, model: Model) -> bool:
        return (
            (not self.authors or model.author in self.authors)
            and (
                not self.input_modalities
                or not self.input_modalities.isdisjoint(model.input_modalities)
            )
            and (
                not self.output_modalities
                or not self.output_modalities.isdisjoint(model.output_modalities)
            )
            and self.features.issubset(model.supported_features)
            and (not self.endpoints or not self.endpoints.isdisjoint(model.endpoints))
        )


def _values(name: str, raw: str, allowed: tuple[str, ...] | None) -> frozenset[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise InvalidRequestError(f"filter {name} needs a value", param=name)
    for value in values:
        if allowed is not None and value not in allowed:
            raise InvalidRequestError(
                f"unknown {name} '{value[:50]}'; use one of {', '.join(allowed)}", param=name
            )
        if allowed is None and not _AUTHOR.match(value):
            raise InvalidRequestError(f"invalid {name} '{value[:50]}'", param=name)
    return frozenset(values)


def query_pairs(query: str) -> list[tuple[str, str]]:
    """A ``/v1/models`` query string as name-value pairs (at most 20)."""
    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=20)
    except ValueError:
        raise InvalidRequestError("too many query parameters") from None


def parse_filters(query: str) -> ListingFilter | None:
    """The filters of a ``/v1/models`` query string; ``None`` when there are none."""
    if not query:
        return None
    return filter_of(query_pairs(query))


def filter_of(pairs: list[tuple[str, str]]) -> ListingFilter | None:
    """The filters these pairs name; an unknown name is an error naming it."""
    found: dict[str, frozenset[str]] = {}
    for name, raw in pairs:
        if name not in FILTERS:
            raise InvalidRequestError(
                f"unknown query parameter '{name[:50]}'; filters are {', '.join(FILTERS)}",
                param=name[:50],
            )
        allowed = {
            "author": None,
            "input_modality": MODALITIES,
            "output_modality": MODALITIES,
            "supported_features": FEATURES,
            "endpoint": ENDPOINTS,
        }[name]
        found[name] = found.get(name, frozenset()) | _values(name, raw, allowed)
    if not found:
        return None
    return ListingFilter(
        authors=found.get("author", frozenset()),
        input_modalities=found.get("input_modality", frozenset()),
        output_modalities=found.get("output_modality", frozenset()),
        features=found.get("supported_features", frozenset()),
        endpoints=found.get("endpoint", frozenset()),
    )
