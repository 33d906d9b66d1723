"""Planning an import (pure): what is added, changed, kept by pins, removed and skipped."""

from __future__ import annotations

from typing import Any

import pytest

from quantized.catalog.aliases import Clash
from quantized.catalog.diff import (
    ONLY_STORED,
    FieldChange,
    ModelDiff,
    PlanOptions,
    Removed,
    globs,
    pinnable,
    pinning,
    plan_import,
    preview_json,
    relative,
    settled,
    unpinning,
)
from quantized.catalog.drift import drift, drift_json
from quantized.catalog.importers import Skipped
from quantized.catalog.model import Model
from quantized.catalog.schema import parse_entry
from quantized.errors import InvalidRequestError
from tests.utils.catalogs import entry

NOW = 1_780_000_000
LATER = "2099-01-01T00:00:00Z"


def model(model_id: str, **overrides: Any) -> Model:
    return parse_entry(entry(model_id, **overrides), now=NOW)


def cost(prompt: float, completion: float, **more: float) -> dict[str, float]:
    return {"prompt": prompt, "completion": completion, **more}


def test_added_changed_unchanged_with_relative_price_changes() -> None:
    stored = [model("acme/a"), model("acme/b"), model("acme/c")]
    source = [
        model("acme/a"),
        model("acme/b", name="Bee", cost=cost(1.5, 4, input_cache_read=0)),
        model("acme/new"),
    ]
    plan = plan_import(stored, source)
    assert plan.added == ("acme/new",)
    assert plan.unchanged == ("acme/a",)
    assert plan.changed == (
        ModelDiff(
            "acme/b",
            {
                "name": FieldChange("B", "Bee"),
                "cost.prompt": FieldChange(1, 1.5),
                "cost.input_cache_read": FieldChange(0.25, 0),
            },
        ),
    )
    assert [m.id for m in plan.write] == ["acme/b", "acme/new"]
    assert plan.removed == (Removed("acme/c", "active", "keep"),)
    assert (plan.deprecate, plan.delete) == ((), ())
    shown = preview_json(plan, format="quantized")
    fields = shown["changed"][0]["fields"]
    assert fields["cost.prompt"] == {"old": 1, "new": 1.5, "relative": 0.5}
    assert fields["cost.input_cache_read"] == {"old": 0.25, "new": 0, "relative": -1.0}
    assert fields["name"] == {"old": "B", "new": "Bee"}  # no relative change but for prices


def test_relative_change_is_null_without_an_old_price() -> None:
    assert relative(0, 2) is None
    assert relative(None, 2) is None
    assert relative(2, None) is None
    assert relative(4, 5) == pytest.approx(0.25)
    stored = [model("acme/free", cost=cost(0, 0))]
    plan = plan_import(stored, [model("acme/free", cost=cost(0, 1, input_cache_write=2))])
    fields = preview_json(plan, format="quantized")["changed"][0]["fields"]
    assert fields["cost.completion"] == {"old": 0, "new": 1, "relative": None}
    assert fields["cost.input_cache_write"] == {"old": None, "new": 2, "relative": None}


@pytest.mark.parametrize(
    ("missing", "actions"),
    [
        ("keep", ["keep", "keep", "keep"]),
        ("deprecate", ["deprecate", "keep", "keep"]),
        ("delete", ["delete", "delete", "delete"]),
    ],
)
def test_stored_models_missing_from_the_source(missing: str, actions: list[str]) -> None:
    stored = [
        model("acme/active"),
        model("acme/old", status="deprecated"),
        model("acme/held", pinned=["status"]),
        model("acme/listed"),
    ]
    plan = plan_import(stored, [model("acme/listed")], PlanOptions(missing=missing))
    assert [r.action for r in plan.removed] == actions
    assert [r.id for r in plan.removed] == ["acme/active", "acme/held", "acme/old"]
    if missing == "deprecate":
        assert [r.note for r in plan.removed] == [None, "status is pinned", "already deprecated"]
        assert [(m.id, m.status) for m in plan.deprecate] == [("acme/active", "deprecated")]
    if missing == "delete":
        assert plan.delete == ("acme/active", "acme/held", "acme/old")
    assert plan.write == ()


def test_models_globs_select_what_is_added_changed_and_removed() -> None:
    stored = [model("openai/a"), model("openai/gone"), model("acme/gone"), model("acme/b")]
    source = [
        model("openai/a", name="New A"),
        model("openai/new"),
        model("acme/b", name="New B"),
        model("acme/new"),
    ]
    plan = plan_import(stored, source, PlanOptions(models=("openai/*",), missing="delete"))
    assert plan.added == ("openai/new",)
    assert [c.id for c in plan.changed] == ["openai/a"]
    assert plan.delete == ("openai/gone",)
    assert plan.positions == (0, 1)  # each candidate's place in the source
    two = plan_import(stored, source, PlanOptions(models=("openai/a", "acme/*")))
    assert [c.id for c in two.changed] == ["openai/a", "acme/b"]
    assert two.added == ("acme/new",)
    assert [r.id for r in two.removed] == ["acme/gone"]


def test_only_changes_the_named_fields_of_stored_models() -> None:
    stored = [model("acme/a", pinned=["name"])]
    source = [
        model(
            "acme/a",
            name="Renamed",
            context_length=9000,
            cost=cost(2, 8, input_cache_read=0.5, input_cache_write=3),
            pinned=["description"],
        ),
        model("acme/new"),
    ]
    plan = plan_import(stored, source, PlanOptions(only=("cost",)))
    assert plan.changed == (
        ModelDiff(
            "acme/a",
            {
                "cost.prompt": FieldChange(1, 2),
                "cost.completion": FieldChange(4, 8),
                "cost.input_cache_read": FieldChange(0.25, 0.5),
                "cost.input_cache_write": FieldChange(None, 3),
            },
        ),
    )
    assert plan.skipped == (Skipped("acme/new", ONLY_STORED),)
    assert plan.added == () and plan.pinned == ()  # name is pinned, but only= leaves it anyway
    assert plan.write[0].pinned == ("name",)  # only= does not add the entry's pins either
    narrow = plan_import(stored, source, PlanOptions(only=("cost.prompt", "context_length")))
    assert set(narrow.changed[0].fields) == {"cost.prompt", "context_length"}
    assert narrow.write[0].cost.completion == 4


def test_pinned_fields_keep_their_stored_values_and_are_reported() -> None:
    source_of = {"url": "https://acme.example/a", "checked": "2026-01-02"}
    stored = [
        model("acme/a", pinned=["cost.completion", "price_source"], price_source=source_of),
        model("acme/b", pinned=["cost"]),
    ]
    source = [
        model(
            "acme/a",
            name="A2",
            cost=cost(2, 5, input_cache_read=0.25),
            price_source={**source_of, "checked": "2026-03-04"},
            pinned=["name"],
        ),
        model("acme/b", cost=cost(9, 9, input_cache_read=9, input_cache_write=9)),
    ]
    plan = plan_import(stored, source)
    assert plan.pinned == (
        ModelDiff(
            "acme/a",
            {
                "cost.completion": FieldChange(4, 5),
                "price_source.checked": FieldChange("2026-01-02", "2026-03-04"),
            },
        ),
        ModelDiff(
            "acme/b",
            {
                "cost.prompt": FieldChange(1, 9),
                "cost.completion": FieldChange(4, 9),
                "cost.input_cache_read": FieldChange(0.25, 9),
                "cost.input_cache_write": FieldChange(None, 9),
            },
        ),
    )
    written = {m.id: m for m in plan.write}
    assert written["acme/a"].name == "A2"  # the entry's own pin takes its value, then holds
    assert written["acme/a"].pinned == ("name", "cost.completion", "price_source")
    assert (written["acme/a"].cost.prompt, written["acme/a"].cost.completion) == (2, 4)
    assert written["acme/a"].price_source == stored[0].price_source
    assert plan.unchanged == ("acme/b",)  # every price pinned: nothing to write
    assert preview_json(plan, format="quantized")["pinned"][1]["fields"]["cost.prompt"] == {
        "old": 1,
        "new": 9,
        "relative": 8.0,
    }


def test_an_import_never_unpins() -> None:
    stored = [model("acme/a", pinned=["routing"])]
    plan = plan_import(stored, [model("acme/a", pinned=[])])
    assert plan.unchanged == ("acme/a",)
    plan = plan_import(stored, [model("acme/a", pinned=["aliases"])])
    assert plan.changed[0].fields == {"pinned": FieldChange(["routing"], ["aliases", "routing"])}


def test_schedules_foreign_sources_keep_and_our_format_replaces() -> None:
    schedule = [{"effective_from": LATER, "prompt": 0.5, "completion": 2}]
    stored = [model("acme/a", scheduled_prices=schedule)]
    bare = model("acme/a")
    foreign = plan_import(stored, [bare], foreign=True)
    assert foreign.unchanged == ("acme/a",)
    ours = plan_import(stored, [bare])
    assert list(ours.changed[0].fields) == ["scheduled_prices"]
    assert ours.write[0].scheduled == ()
    held = plan_import(
        [model("acme/a", scheduled_prices=schedule, pinned=["scheduled_prices"])], [bare]
    )
    assert held.unchanged == ("acme/a",)
    assert list(held.pinned[0].fields) == ["scheduled_prices"]


def test_foreign_aliases_are_added_to_the_stored_ones() -> None:
    stored = [model("acme/a", aliases=["a-1"])]
    plan = plan_import(stored, [model("acme/a", aliases=["a-2"])], foreign=True)
    assert plan.changed[0].fields == {"aliases": FieldChange(["a-1"], ["a-1", "a-2"])}
    ours = plan_import(stored, [model("acme/a", aliases=["a-2"])])
    assert ours.changed[0].fields == {"aliases": FieldChange(["a-1"], ["a-2"])}


def test_a_source_without_a_creation_date_keeps_the_stored_one() -> None:
    stored = [model("acme/a")]  # created 2025-04-14
    undated = parse_entry({**entry("acme/a"), "created": None}, now=NOW + 60)
    assert undated.created == NOW + 60
    assert plan_import(stored, [undated], parsed_at=NOW + 60).unchanged == ("acme/a",)
    assert "created" in plan_import(stored, [undated]).changed[0].fields


def test_skipped_entries_and_settled_aliases() -> None:
    stored = [model("acme/a"), model("acme/b")]
    importer = [Skipped("weird-entry", "no prompt or completion price")]
    plan = plan_import(
        stored, [model("acme/a", aliases=["taken"]), model("acme/b")], skipped=importer
    )
    assert plan.skipped == tuple(importer)
    assert [c.id for c in plan.changed] == ["acme/a"]
    dropped = settled(plan, [model("acme/a"), model("acme/b")])  # the alias was left out
    assert dropped.changed == () and dropped.write == ()
    assert dropped.unchanged == ("acme/a", "acme/b")
    clash = Clash("acme/a", "taken", "acme/z", is_id=False)
    shown = preview_json(dropped, format="litellm", dropped=[clash])
    assert shown["skipped"] == [{"name": "weird-entry", "reason": "no prompt or completion price"}]
    assert shown["aliases_skipped"] == [{"name": "taken", "reason": clash.describe()}]
    assert (shown["object"], shown["format"], shown["dry_run"]) == (
        "catalog.import_preview",
        "litellm",
        True,
    )


def test_field_names_and_globs_are_checked() -> None:
    assert pinnable(["cost.prompt,name", " context_length "], "only") == (
        "name",
        "context_length",
        "cost.prompt",
    )
    with pytest.raises(InvalidRequestError) as bad:
        pinnable(["cost,colour"], "only")
    assert bad.value.param == "only" and "'colour' is not a field" in bad.value.message
    with pytest.raises(InvalidRequestError) as empty:
        pinnable([" , "], "only")
    assert empty.value.param == "only"
    assert globs(["openai/*,acme/a", "openai/*"], "models") == ("openai/*", "acme/a")
    with pytest.raises(InvalidRequestError) as none:
        globs([""], "models")
    assert none.value.param == "models"
    with pytest.raises(InvalidRequestError) as missing:
        PlanOptions(missing="forget")
    assert missing.value.param == "missing"


def test_pinning_and_unpinning() -> None:
    assert pinning(("routing",), ("name", "routing")) == ("name", "routing")
    assert unpinning(("name", "cost"), ("cost",)) == ("name",)
    assert unpinning(("cost.prompt", "cost.completion"), ("cost",)) == ()
    assert unpinning(("cost",), ("cost.prompt",)) == (
        "cost.completion",
        "cost.input_cache_read",
        "cost.input_cache_write",
    )
    assert unpinning(("name",), ("routing",)) == ("name",)


def test_drift_compares_the_four_prices_within_a_tolerance() -> None:
    note = {"url": "https://acme.example/a", "checked": "2026-01-02", "note": "EU list price"}
    stored = [
        model("acme/a", price_source=note),
        model("acme/b", pinned=["cost.completion"]),
        model("acme/c"),
        model("acme/only-here"),
    ]
    source = [
        model("acme/a", cost=cost(1.005, 4, input_cache_read=0.25)),
        model("acme/b", cost=cost(1, 40, input_cache_read=0.25)),
        model("acme/c", cost=cost(1, 4, input_cache_read=0.25, input_cache_write=1.25)),
        model("acme/only-there"),
    ]
    strict = drift(stored, source)
    assert strict.compared == 3 and strict.failed
    assert [(d.model, d.field, d.beyond, d.pinned) for d in strict.drifts] == [
        ("acme/a", "cost.prompt", True, False),
        ("acme/b", "cost.completion", False, True),
        ("acme/c", "cost.input_cache_write", True, False),
    ]
    assert strict.drifts[0].note == "EU list price"
    assert strict.drifts[0].relative == pytest.approx(0.005)
    assert strict.drifts[2].relative is None  # no stored price: always beyond
    loose = drift(stored, source, tolerance=0.01, models=["acme/a", "acme/b"])
    assert loose.compared == 2 and not loose.failed
    assert [d.beyond for d in loose.drifts] == [False, False]
    shown = drift_json(loose)
    assert (shown["compared"], shown["beyond_tolerance"]) == (2, 0)
    assert shown["drifts"][1]["pinned"] is True
    same = drift(stored, [model("acme/a", cost=cost(1.0000000000001, 4, input_cache_read=0.25))])
    assert same.drifts == ()  # float noise is no drift


def test_a_pinned_price_keeps_its_schedule_and_a_foreign_source_keeps_the_status() -> None:
    stored = [
        model("acme/a", pinned=["cost.prompt"]),
        model("acme/b", status="disabled"),
    ]
    later = {"effective_from": LATER, "prompt": 9, "completion": 90}
    source = [model("acme/a", scheduled_prices=[later]), model("acme/b")]
    plan = plan_import(stored, source)
    assert [d.id for d in plan.changed] == ["acme/b"]  # a/ schedule would change a pinned price
    assert [d.id for d in plan.pinned] == ["acme/a"] and "scheduled_prices" in plan.pinned[0].fields
    assert [m.id for m in plan.write] == ["acme/b"]  # ours says status: active
    foreign = plan_import(stored, [model("acme/b")], foreign=True)
    assert foreign.changed == () and foreign.unchanged == ("acme/b",)  # disabled stays


def test_removing_everything_from_an_empty_source_is_refused() -> None:
    stored = [model("acme/a"), model("openai/x")]
    for missing in ("deprecate", "delete"):
        with pytest.raises(InvalidRequestError) as refused:
            plan_import(stored, [], PlanOptions(missing=missing))
        assert refused.value.param == "missing"
        with pytest.raises(InvalidRequestError):  # nothing within the selection either
            plan_import(
                stored, [model("acme/a")], PlanOptions(models=("openai/*",), missing=missing)
            )
    assert plan_import(stored, [], PlanOptions()).removed  # keep: only reported
