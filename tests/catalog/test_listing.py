from __future__ import annotations

import gzip

import orjson
import pytest

from quantized.catalog.access import EVERYTHING, ModelAccess
from quantized.catalog.filters import parse_filters
from quantized.catalog.listing import Catalog
from quantized.catalog.model import Cost, Model
from quantized.errors import GoneError, InvalidRequestError, NotFoundError


def model(model_id: str, status: str = "active", prompt: float = 1.0, **extra: object) -> Model:
    fields: dict[str, object] = {
        "input_modalities": ("text", "image"),
        "supported_features": ("tool_calls",),
    }
    fields.update(extra)
    return Model(
        id=model_id,
        name=model_id.upper(),
        cost=Cost(prompt, 4.0, 0.25),
        status=status,
        created=1_700_000_000,
        **fields,  # type: ignore[arg-type]
    )


CATALOG = Catalog(
    [
        model("openai/b"),
        model("openai/a", supported_features=("tool_calls", "structured_output")),
        model("anthropic/c", input_modalities=("text",)),
        model("google/old", status="deprecated"),
        model("google/off", status="disabled"),
    ]
)


def ids(body: bytes) -> list[str]:
    return [m["id"] for m in orjson.loads(body)]


def test_listing_is_sorted_and_active_only() -> None:
    assert ids(CATALOG.listing(EVERYTHING).plain.data) == ["anthropic/c", "openai/a", "openai/b"]


def test_documented_shape_and_number_formatting() -> None:
    first = orjson.loads(CATALOG.listing(EVERYTHING).plain.data)[0]
    assert first == {
        "id": "anthropic/c",
        "name": "ANTHROPIC/C",
        "description": None,
        "model_author": "anthropic",
        "input_modality": {"text": True, "image": False, "audio": False, "video": False},
        "output_modality": {"text": True, "image": False, "audio": False, "video": False},
        "status": "active",
        "supported_features": ["tool_calls"],
        "cost": {"prompt": 1, "completion": 4, "input_cache_read": 0.25},
        "endpoints": ["chat", "messages", "responses"],
        "context_length": None,
    }
    assert list(first)[-2:] == ["endpoints", "context_length"]  # additive: after the rest
    assert b'"prompt":1,' in CATALOG.listing(EVERYTHING).plain.data


def test_sdk_envelope_adds_openai_fields() -> None:
    body = orjson.loads(CATALOG.listing(EVERYTHING).sdk.data)
    assert body["object"] == "list"
    item = body["data"][0]
    assert (item["object"], item["created"], item["owned_by"]) == (
        "model",
        1_700_000_000,
        "anthropic",
    )


def test_restricted_listing_and_item_agree() -> None:
    access = ModelAccess(("openai/*", "google/*"))
    listed = ids(CATALOG.listing(access).plain.data)
    assert listed == ["openai/a", "openai/b"]
    for candidate in ["openai/a", "openai/b", "anthropic/c", "google/off", "x/y"]:
        if candidate in listed:
            assert orjson.loads(CATALOG.item(candidate, access).plain.data)["id"] == candidate
        else:
            with pytest.raises(NotFoundError):
                CATALOG.item(candidate, access)


def test_deprecated_models_are_gone_but_only_for_callers_who_may_see_them() -> None:
    with pytest.raises(GoneError, match="deprecated"):
        CATALOG.usable("google/old", EVERYTHING)
    with pytest.raises(NotFoundError):
        CATALOG.usable("google/old", ModelAccess(("openai/*",)))


def test_listings_are_rendered_once_per_access_rule_and_filter() -> None:
    access = ModelAccess(("openai/*",))
    assert CATALOG.listing(access) is CATALOG.listing(ModelAccess(("openai/*",)))
    assert CATALOG.listing(EVERYTHING) is CATALOG.everything
    where = parse_filters("supported_features=structured_output")
    assert CATALOG.listing(EVERYTHING, where) is CATALOG.listing(EVERYTHING, where)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("author=openai", ["openai/a", "openai/b"]),
        ("author=openai,anthropic", ["anthropic/c", "openai/a", "openai/b"]),
        ("author=nobody", []),
        ("input_modality=image", ["openai/a", "openai/b"]),
        ("output_modality=text", ["anthropic/c", "openai/a", "openai/b"]),
        ("supported_features=tool_calls,structured_output", ["openai/a"]),
        ("supported_features=tool_calls&supported_features=structured_output", ["openai/a"]),
        (
            "author=openai&input_modality=image&supported_features=tool_calls",
            ["openai/a", "openai/b"],
        ),
    ],
)
def test_filters(query: str, expected: list[str]) -> None:
    assert ids(CATALOG.listing(EVERYTHING, parse_filters(query)).plain.data) == expected


SERVING = Catalog(
    [
        model("openai/chat"),
        model("openai/embed", output_modalities=(), endpoints=("embeddings",)),
        model("acme/both", endpoints=("chat", "embeddings")),
        model("acme/responses-only", endpoints=("responses",)),
    ]
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("endpoint=embeddings", ["acme/both", "openai/embed"]),
        ("endpoint=chat", ["acme/both", "openai/chat"]),
        ("endpoint=messages", ["openai/chat"]),
        (
            "endpoint=responses,embeddings",
            ["acme/both", "acme/responses-only", "openai/chat", "openai/embed"],
        ),
        ("endpoint=messages&endpoint=embeddings", ["acme/both", "openai/chat", "openai/embed"]),
        ("endpoint=embeddings&author=openai", ["openai/embed"]),
        ("output_modality=text", ["acme/both", "acme/responses-only", "openai/chat"]),
    ],
)
def test_endpoint_filter(query: str, expected: list[str]) -> None:
    listed = SERVING.listing(EVERYTHING, parse_filters(query))
    assert ids(listed.plain.data) == expected
    assert SERVING.listing(EVERYTHING, parse_filters(query)) is listed  # rendered once


def test_each_model_lists_its_endpoints() -> None:
    served = {m["id"]: m["endpoints"] for m in orjson.loads(SERVING.everything.plain.data)}
    assert served == {
        "acme/both": ["chat", "embeddings"],
        "acme/responses-only": ["responses"],
        "openai/chat": ["chat", "messages", "responses"],
        "openai/embed": ["embeddings"],
    }
    enveloped = orjson.loads(SERVING.item("openai/embed", EVERYTHING).sdk.data)
    assert enveloped["endpoints"] == ["embeddings"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("endpoint=completions", "endpoint"),
        ("endpoint=", "endpoint"),
        ("endpoints=chat", "endpoints"),
        ("input_modality=smell", "input_modality"),
        ("supported_features=tool_calls,vision", "supported_features"),
        ("output_modality=", "output_modality"),
        ("author=Bad Author", "author"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_filters_name_the_parameter(query: str, param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_filters(query)
    assert caught.value.param == param


def test_bodies_have_digests_and_gzip() -> None:
    body = CATALOG.listing(EVERYTHING).plain
    assert body.tag.startswith(b'"') and body.gzip_tag != body.tag
    assert gzip.decompress(body.gzipped) == body.data
    assert Catalog(CATALOG.models).listing(EVERYTHING).plain.tag == body.tag


def test_with_changes_reuses_unchanged_renderings() -> None:
    updated = CATALOG.with_changes([model("openai/b", prompt=9.0), model("new/x")], ["anthropic/c"])
    listed = orjson.loads(updated.listing(EVERYTHING).plain.data)
    assert [m["id"] for m in listed] == ["new/x", "openai/a", "openai/b"]
    assert listed[2]["cost"]["prompt"] == 9
    assert updated._items["openai/a"] is CATALOG._items["openai/a"]
