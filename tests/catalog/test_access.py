from __future__ import annotations

import pytest

from quantized.catalog.access import (
    EVERYTHING,
    ModelAccess,
    normalise_patterns,
    unmatched_patterns,
)
from quantized.errors import InvalidRequestError

IDS = ["openai/gpt-4.1", "openai/gpt-4.1-mini", "anthropic/claude-sonnet-4.5", "qwen/qwen3-max"]


def test_everything_allows_all() -> None:
    assert EVERYTHING.unrestricted
    assert all(EVERYTHING.allows(i) for i in IDS)


@pytest.mark.parametrize(
    ("patterns", "allowed"),
    [
        (("openai/*",), ["openai/gpt-4.1", "openai/gpt-4.1-mini"]),
        (("openai/gpt-4.1",), ["openai/gpt-4.1"]),
        (("*/claude-*", "qwen/qwen3-ma?"), ["anthropic/claude-sonnet-4.5", "qwen/qwen3-max"]),
        (("*",), IDS),
        ((), []),
    ],
)
def test_globs_match_whole_ids(patterns: tuple[str, ...], allowed: list[str]) -> None:
    access = ModelAccess(patterns)
    assert [i for i in IDS if access.allows(i)] == allowed


def test_exact_id_does_not_match_prefixes() -> None:
    assert not ModelAccess(("openai/gpt-4",)).allows("openai/gpt-4.1")


def test_patterns_are_case_sensitive() -> None:
    assert not ModelAccess(("OpenAI/*",)).allows("openai/gpt-4.1")


def test_normalise_sorts_and_dedupes() -> None:
    assert normalise_patterns(["openai/*", " anthropic/* ", "openai/*"]) == (
        "anthropic/*",
        "openai/*",
    )
    assert normalise_patterns(None) is None


@pytest.mark.parametrize("bad", ["", "  ", "openai/gpt 4", "OpenAI/*", "a;b", "x" * 201])
def test_normalise_rejects_bad_patterns(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalise_patterns([bad])
    assert caught.value.param == "models"


def test_unmatched_patterns_names_typos() -> None:
    assert unmatched_patterns(["openai/*", "opena1/*", "qwen/qwen3-max"], IDS) == ["opena1/*"]


def test_equal_pattern_sets_share_a_cache_identity() -> None:
    assert ModelAccess(("a/*",)) == ModelAccess(("a/*",))
    assert hash(ModelAccess(("a/*",))) == hash(ModelAccess(("a/*",)))
