"""Scheduled prices in the domain: the price in force at an instant, the switch of a
snapshot, and the catalog format's ``scheduled_prices``."""

from __future__ import annotations

import math
from typing import get_args

from quantized.catalog.access import ModelAccess
from quantized.catalog.document import dump_catalog, load_catalog_text, model_json
from quantized.catalog.listing import Catalog
from quantized.catalog.model import PINNABLE, Cost, Model, ScheduledPrice
from quantized.catalog.schema import Pinnable, parse_entry

OLD, MID, NEW = Cost(3.0, 15.0, 0.3), Cost(2.0, 10.0, 0.2), Cost(1.0, 5.0, 0.1)


def _model(**fields: object) -> Model:
    return Model(id="a/b", name="B", cost=OLD, price_id=1, **fields)  # type: ignore[arg-type]


def test_the_price_in_force_at_each_instant() -> None:
    model = _model(scheduled=(ScheduledPrice(100, MID, 2), ScheduledPrice(200, NEW, 3)))
    assert model.price_at(99.999) == (OLD, 1)
    assert model.price_at(100) == (MID, 2)  # from its instant exactly
    assert model.price_at(199.5) == (MID, 2)
    assert model.price_at(250) == (NEW, 3)
    assert _model().price_at(10**10) == (OLD, 1)


def test_a_switched_model_still_prices_requests_that_began_before() -> None:
    model = _model(scheduled=(ScheduledPrice(100, MID, 2), ScheduledPrice(200, NEW, 3)))
    assert model.at(50) is model
    switched = model.at(150)
    assert (switched.cost, switched.price_id) == (MID, 2)
    assert switched.scheduled == (ScheduledPrice(200, NEW, 3),)
    assert switched.price_at(99) == (OLD, 1)  # began before the switch: the old price
    assert switched.price_at(150) == (MID, 2)
    assert switched.price_at(200) == (NEW, 3)
    both = model.at(300)  # two switches at once
    assert (both.cost, both.price_id, both.scheduled) == (NEW, 3, ())
    assert both.price_at(150) == (MID, 2) and both.price_at(250) == (NEW, 3)


def test_a_snapshot_switches_and_rerenders_only_what_changed() -> None:
    other = Model(id="c/d", name="D", cost=OLD)
    everyone = ModelAccess()
    catalog = Catalog([_model(scheduled=(ScheduledPrice(100, NEW, 2),)), other])
    assert catalog.switch_at == 100
    assert catalog.at(99) is catalog
    switched = catalog.at(100)
    assert switched.switch_at == math.inf
    assert b'"prompt":1' in switched.item("a/b", everyone).plain.data
    assert b'"prompt":3' in catalog.item("a/b", everyone).plain.data
    assert b'"prompt":1' in switched.everything.plain.data


def test_the_catalog_format_folds_prices_whose_time_has_come() -> None:
    text = """
models:
  - id: a/b
    name: B
    cost: {prompt: 3, completion: 15}
    scheduled_prices:
      - {effective_from: 2027-01-01T00:00:00Z, prompt: 1, completion: 5}
      - {effective_from: 2020-01-01, prompt: 2, completion: 10, input_cache_read: 0.2}
      - {effective_from: 2027-01-01T00:00:00Z, prompt: 9, completion: 9}
    pinned: [cost.prompt, name]
"""
    [model] = load_catalog_text(text, now=1_700_000_000)
    assert model.cost == Cost(2, 10, 0.2)  # 2020's is in force
    assert model.scheduled == (ScheduledPrice(1798761600, Cost(9, 9, 9)),)  # the last for 2027
    assert model.pinned == ("name", "cost.prompt")  # in PINNABLE's order
    again = load_catalog_text(dump_catalog([model]), now=1_700_000_000)
    assert again == [model]
    assert parse_entry(model_json(model), now=1_700_000_000) == model
    [later] = load_catalog_text(text, now=1_800_000_000)
    assert later.cost == Cost(9, 9, 9) and later.scheduled == ()


def test_pinnable_fields_are_the_schemas() -> None:
    assert get_args(Pinnable) == PINNABLE
