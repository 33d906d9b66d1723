"""Price drift: the stored catalog's prices against a source's (``quantized models check``).

Every selected model in both is compared price by price; a difference beyond the
tolerance (relative to the stored price) fails the check, unless that price is pinned
(an operator set it on purpose). Each drift carries the model's ``price_source.note``,
which says why a shipped price differs from a source where it does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from quantized.catalog.diff import PRICES, PlanOptions, expand, relative
from quantized.catalog.model import Model


@dataclass(frozen=True, slots=True)
class Drift:
    """One price the source gives differently from the stored catalog."""

    model: str
    field: str
    stored: float | None
    source: float | None
    relative: float | None
    pinned: bool
    beyond: bool
    """Beyond the tolerance and not pinned: the check fails."""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DriftReport:
    compared: int
    tolerance: float
    drifts: tuple[Drift, ...]

    @property
    def beyond(self) -> tuple[Drift, ...]:
        return tuple(d for d in self.drifts if d.beyond)

    @property
    def failed(self) -> bool:
        return any(d.beyond for d in self.drifts)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def drift(
    stored: Iterable[Model],
    source: Iterable[Model],
    *,
    models: Sequence[str] = (),
    tolerance: float = 0.0,
) -> DriftReport:
    """The four prices of every selected model in both, compared: a difference beyond
    ``tolerance`` (relative to the stored price) fails, unless the price is pinned."""
    selection = PlanOptions(models=tuple(models))
    given = {m.id: m for m in source if selection.selects(m.id)}
    compared = 0
    found: list[Drift] = []
    for model in sorted(stored, key=lambda m: m.id):
        other = given.get(model.id)
        if other is None:
            continue
        compared += 1
        pins = expand(model.pinned)
        note = model.price_source.note if model.price_source is not None else None
        for name in PRICES:
            attr = name.partition(".")[2]
            old, new = getattr(model.cost, attr), getattr(other.cost, attr)
            if _same(old, new):
                continue
            change = relative(old, new)
            held = name in pins
            far = change is None or abs(change) > tolerance * (1 + 1e-9)
            found.append(Drift(model.id, name, old, new, change, held, far and not held, note))
    return DriftReport(compared, tolerance, tuple(found))


def drift_json(report: DriftReport) -> dict[str, Any]:
    return {
        "object": "catalog.drift",
        "compared": report.compared,
        "tolerance": report.tolerance,
        "beyond_tolerance": len(report.beyond),
        "drifts": [
            {
                "model": d.model,
                "field": d.field,
                "stored": d.stored,
                "source": d.source,
                "relative": None if d.relative is None else round(d.relative, 6),
                "pinned": d.pinned,
                "beyond_tolerance": d.beyond,
                "note": d.note,
            }
            for d in report.drifts
        ],
    }
