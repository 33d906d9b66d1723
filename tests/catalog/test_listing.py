from __future__ import annotations

import orjson

from quantized.catalog.access import EVERYTHING, ModelAccess
from quantized.catalog.listing import Catalog
from quantized.catalog.model import Cost, Model


def model(model_id: str, status: str = "active", prompt: float = 1.0) -> Model:
    return Model(
        id=model_id,
        name=model_id.upper(),
        cost=Cost(prompt, 4.0, 0.25),
        input_modalities=("text", "image"),
        supported_features=("tool_calls",),
        status=status,
        created=1_700_000_000,
    )


CATALOG = Catalog(
    [
        model("openai/b"),
        model("openai/a"),
        model("anthropic/c"),
        model("google/old", status="deprecated"),
        model("google/off", status="disabled"),
    ]
)


def test_listing_is_sorted_and_active_only() -> None:
    listed = orjson.loads(CATALOG.listing(EVERYTHING).plain)
    assert [m["id"] for m in listed] == ["anthropic/c", "openai/a", "openai/b"]


def test_documented_shape_and_number_formatting() -> None:
    first = orjson.loads(CATALOG.listing(EVERYTHING).plain)[0]
    assert first == {
        "id": "anthropic/c",
        "name": "ANTHROPIC/C",
        "description": None,
        "model_author": "anthropic",
        "input_modality": {"text": True, "image": True, "audio": False, "video": False},
        "output_modality": {"text": True, "image": False, "audio": False, "video": False},
        "status": "active",
        "supported_features": ["tool_calls"],
        "cost": {"prompt": 1, "completion": 4, "input_cache_read": 0.25},
    }
    assert b'"prompt":1,' in CATALOG.listing(EVERYTHING).plain


def test_sdk_envelope_adds_openai_fields() -> None:
    body = orjson.loads(CATALOG.listing(EVERYTHING).sdk)
    assert body["object"] == "list"
    item = body["data"][0]
    assert (item["object"], item["created"], item["owned_by"]) == (
        "model",
        1_700_000_000,
        "anthropic",
    )


def test_restricted_listing_and_item_agree() -> None:
    access = ModelAccess(("openai/*", "google/*"))
    listed = [m["id"] for m in orjson.loads(CATALOG.listing(access).plain)]
    assert listed == ["openai/a", "openai/b"]
    for candidate in ["openai/a", "openai/b", "anthropic/c", "google/old", "google/off", "x/y"]:
        assert (CATALOG.item(candidate, access) is not None) == (candidate in listed)


def test_listings_are_rendered_once_per_access_rule() -> None:
    access = ModelAccess(("openai/*",))
    assert CATALOG.listing(access) is CATALOG.listing(ModelAccess(("openai/*",)))
    assert CATALOG.listing(EVERYTHING) is CATALOG.everything


def test_usable_is_the_one_rule() -> None:
    assert CATALOG.usable("openai/a", EVERYTHING) is not None
    assert CATALOG.usable("google/old", EVERYTHING) is None
    assert CATALOG.usable("openai/a", ModelAccess(("anthropic/*",))) is None
