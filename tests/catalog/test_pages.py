"""Anthropic's pages of the listing: every way to walk them covers the list exactly once, and
every malformed request is a 400 naming its parameter."""

from __future__ import annotations

import orjson
import pytest

from quantized.catalog.model import Cost, Model
from quantized.catalog.pages import PageRequest, created_at, parse_page, render_model, render_page
from quantized.errors import InvalidRequestError
from quantized.values import EARLIEST, LATEST

MODELS = [
    Model(id=f"a/m{i:02d}", name=f"M{i}", cost=Cost(1, 2, 0), created=1_739_923_200 + i)
    for i in range(7)
]
IDS = [m.id for m in MODELS]


def page(**request: object) -> dict[str, object]:
    found: dict[str, object] = orjson.loads(render_page(MODELS, PageRequest(**request)))  # type: ignore[arg-type]
    return found


def walk(limit: int, *, backwards: bool = False) -> list[str]:
    """Follow the cursors as Anthropic's SDKs do, until ``has_more`` is false."""
    seen: list[str] = []
    cursor: dict[str, object] = {"before_id": IDS[-1]} if backwards else {}
    while True:
        found = page(limit=limit, **cursor)
        data = found["data"]
        assert isinstance(data, list) and data
        chunk = [m["id"] for m in data]
        seen = chunk + seen if backwards else seen + chunk
        assert (found["first_id"], found["last_id"]) == (chunk[0], chunk[-1])
        if not found["has_more"]:
            return seen
        cursor = {"before_id": found["first_id"]} if backwards else {"after_id": found["last_id"]}


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 1000])
def test_walks_cover_the_list_once(limit: int) -> None:
    assert walk(limit) == IDS
    assert walk(limit, backwards=True) == IDS[:-1]


def test_pages_at_the_edges() -> None:
    assert page(limit=3)["has_more"] is True and page(limit=7)["has_more"] is False
    empty = {"data": [], "has_more": False, "first_id": None, "last_id": None}
    assert page(after_id=IDS[-1]) == empty and page(before_id=IDS[0]) == empty
    assert orjson.loads(render_page([], PageRequest())) == empty
    before = page(before_id=IDS[3], limit=2)
    assert [m["id"] for m in before["data"]] == IDS[1:3] and before["has_more"] is True  # type: ignore[attr-defined]


def test_a_model_in_anthropic_shape() -> None:
    assert orjson.loads(render_model(MODELS[0])) == {
        "type": "model",
        "id": "a/m00",
        "display_name": "M0",
        "created_at": "2025-02-19T00:00:00Z",
    }


def test_created_at_is_rfc3339_utc_for_every_stored_value() -> None:
    assert created_at(0) == "1970-01-01T00:00:00Z"
    assert created_at(-1) == "1969-12-31T23:59:59Z"
    assert created_at(EARLIEST) == "0001-01-01T00:00:00Z"  # a day before year 1 in UTC
    assert created_at(LATEST) == "9999-12-31T23:59:59Z"


def test_parse_page() -> None:
    assert parse_page("") == PageRequest()
    found = parse_page("limit=5&after_id=a%2Fm01&author=a")
    assert (found.limit, found.after_id, found.before_id) == (5, "a/m01", None)
    assert found.where is not None and found.where.authors == {"a"}
    assert parse_page("limit=1000&before_id=x").before_id == "x"
    served = parse_page("endpoint=embeddings").where
    assert served is not None and served.endpoints == {"embeddings"}


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=+5", "limit"),
        ("limit=%205", "limit"),
        ("limit=5_0", "limit"),
        ("limit=", "limit"),
        ("limit=1&limit=2", "limit"),
        ("after_id=a&before_id=b", "before_id"),
        ("cursor=x", "cursor"),
        ("input_modality=smell", "input_modality"),
        ("endpoint=images", "endpoint"),
    ],
)
def test_bad_queries_name_their_parameter(query: str, param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_page(query)
    assert caught.value.param == param


@pytest.mark.parametrize("cursor", ["after_id", "before_id"])
def test_a_cursor_outside_the_list_is_refused(cursor: str) -> None:
    for missing in ("a/m99", "", "a/m0"):
        with pytest.raises(InvalidRequestError) as caught:
            page(**{cursor: missing})
        assert caught.value.param == cursor
