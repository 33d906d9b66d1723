"""Aliases: validated in documents, unique in the catalog, resolved to the canonical model."""

from __future__ import annotations

import json

import orjson
import pytest
import yaml

from quantized.catalog.access import EVERYTHING, ModelAccess
from quantized.catalog.aliases import clashes, names, without_clashes
from quantized.catalog.document import dump_catalog, load_catalog_text, read_catalog_file
from quantized.catalog.importers import parse_foreign
from quantized.catalog.listing import Catalog
from quantized.catalog.model import Cost, Model
from quantized.errors import CatalogFormatError, GoneError, NotFoundError, PermissionDeniedError
from quantized.services.catalog import SHIPPED_CATALOG
from tests.utils.catalogs import entry

NOW = 1_800_000_000


def parse(entries: list[dict[str, object]]) -> list[Model]:
    return load_catalog_text(yaml.safe_dump({"version": 1, "models": entries}), now=NOW)


def test_aliases_are_parsed_exported_and_read_back() -> None:
    models = parse([entry("openai/x", aliases=["x", "x-2025-01-01", "acme/x"])])
    assert models[0].aliases == ("x", "x-2025-01-01", "acme/x")
    exported = dump_catalog(models)
    assert "aliases: [x, x-2025-01-01, acme/x]" in exported
    assert load_catalog_text(exported, now=NOW) == models
    assert parse([entry("openai/y")])[0].aliases == ()
    assert "aliases" not in dump_catalog(parse([entry("openai/y")]))


@pytest.mark.parametrize(
    ("aliases", "where", "message"),
    [
        (["Upper"], "models[0].aliases[0]", "should match pattern"),
        ([""], "models[0].aliases[0]", "should match pattern"),
        (["a/b/c"], "models[0].aliases[0]", "should match pattern"),
        (["-x"], "models[0].aliases[0]", "should match pattern"),
        (["a b"], "models[0].aliases[0]", "should match pattern"),
        (["x" * 201], "models[0].aliases[0]", "at most 200"),
        (["x", "x"], "models[0].aliases", "at most once"),
        ([f"x{i}" for i in range(33)], "models[0].aliases", "at most 32"),
        (["openai/bad"], "models[0].aliases", "own id"),
        ("x", "models[0].aliases", "valid list"),
        ([1], "models[0].aliases[0]", "valid string"),
    ],
)
def test_bad_aliases_are_refused_naming_the_field(
    aliases: object, where: str, message: str
) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse([entry("openai/bad", aliases=aliases)])
    assert caught.value.param == where
    assert message in caught.value.message


def test_an_alias_may_not_be_another_models_id() -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse([entry("openai/a"), entry("openai/b", aliases=["b", "openai/a"])])
    assert caught.value.param == "models[1].aliases"
    assert "alias 'openai/a' of 'openai/b' is already the id of 'openai/a'" in caught.value.message


def test_two_models_may_not_share_an_alias() -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse([entry("openai/a", aliases=["same"]), entry("openai/b", aliases=["same"])])
    assert caught.value.param == "models[0].aliases"
    assert "alias 'same' of 'openai/a' is already an alias of 'openai/b'" in caught.value.message


def model(model_id: str, *aliases: str, **fields: object) -> Model:
    return parse([entry(model_id, aliases=list(aliases), **fields)])[0]


def test_clashes_involving_some_models_only() -> None:
    a, b, c = model("x/a", "one"), model("x/b", "one"), model("x/c", "x/a")
    assert {(k.model, k.other) for k in clashes([a, b, c])} == {
        ("x/a", "x/b"),
        ("x/b", "x/a"),
        ("x/c", "x/a"),
    }
    assert [(k.model, k.alias) for k in clashes([a, b, c], involving=["x/c"])] == [("x/c", "x/a")]
    # a new model whose id is an existing alias clashes too, as the other party
    holder, new = model("x/a", "x/new"), model("x/new")
    assert [(k.model, k.other) for k in clashes([holder, new], involving=["x/new"])] == [
        ("x/a", "x/new")
    ]


def test_without_clashes_keeps_the_first_claim_and_reports_the_rest() -> None:
    kept = {"x/old": model("x/old", "taken")}
    given = [model("x/a", "taken", "mine", "x/old"), model("x/b", "mine", "free")]
    result, dropped = without_clashes(given, kept)
    assert [m.aliases for m in result] == [("mine",), ("free",)]
    assert [c.describe() for c in dropped] == [
        "alias 'taken' of 'x/a' is already an alias of 'x/old'",
        "alias 'x/old' of 'x/a' is already the id of 'x/old'",
        "alias 'mine' of 'x/b' is already an alias of 'x/a'",
    ]


def test_names_prefer_ids_then_the_smallest_id() -> None:
    """Stored data can only clash if writers raced; every server then resolves alike."""
    a, b, c = model("x/b", "n", "x/c"), model("x/a", "n"), model("x/c")
    found = names([a, b, c])
    assert (found["n"].id, found["x/c"].id, found["x/b"].id) == ("x/a", "x/c", "x/b")


CATALOG = Catalog(
    [
        model("openai/gpt", "gpt", "gpt-2025"),
        model("anthropic/claude", "claude-1"),
        model("google/old", "old-1", status="deprecated"),
        model("google/off", "off-1", status="disabled"),
    ]
)


def test_an_alias_answers_exactly_like_the_id() -> None:
    canonical = CATALOG.item("openai/gpt", EVERYTHING)
    for alias in ("gpt", "gpt-2025"):
        assert CATALOG.get(alias) is CATALOG.get("openai/gpt")
        assert CATALOG.usable(alias, EVERYTHING).id == "openai/gpt"
        rendered = CATALOG.item(alias, EVERYTHING)
        assert rendered is canonical  # the same bytes, the same ETag
        assert orjson.loads(rendered.sdk.data)["id"] == "openai/gpt"


def test_the_listing_never_shows_aliases() -> None:
    for body in (CATALOG.everything.plain.data, CATALOG.everything.sdk.data):
        assert b"gpt-2025" not in body and b"claude-1" not in body
        assert b"aliases" not in body
    assert [m["id"] for m in orjson.loads(CATALOG.everything.plain.data)] == [
        "anthropic/claude",
        "openai/gpt",
    ]


def test_access_rules_apply_to_the_canonical_id() -> None:
    only_openai = ModelAccess(("openai/*",))
    assert CATALOG.usable("gpt", only_openai).id == "openai/gpt"
    with pytest.raises(NotFoundError):
        CATALOG.item("claude-1", only_openai)
    with pytest.raises(PermissionDeniedError, match="'claude-1'"):
        CATALOG.usable("claude-1", only_openai, say_forbidden=True)
    a_pattern_on_the_alias = ModelAccess(("claude-*",))  # names are not ids: no access
    with pytest.raises(PermissionDeniedError):
        CATALOG.usable("claude-1", a_pattern_on_the_alias, say_forbidden=True)


def test_status_follows_the_model() -> None:
    with pytest.raises(GoneError):
        CATALOG.usable("old-1", EVERYTHING)
    with pytest.raises(NotFoundError):
        CATALOG.usable("off-1", EVERYTHING)
    with pytest.raises(NotFoundError):
        CATALOG.usable("no-such-alias", EVERYTHING, say_forbidden=True)


def test_changes_carry_aliases() -> None:
    moved = CATALOG.with_changes([model("anthropic/claude", "claude-2")], removed=["openai/gpt"])
    assert moved.get("claude-1") is None and moved.get("gpt") is None
    assert moved.usable("claude-2", EVERYTHING).id == "anthropic/claude"


def test_litellm_keys_become_aliases_when_they_fit() -> None:
    document = {
        "claude-sonnet-4-5-20250929": {
            "litellm_provider": "anthropic",
            "mode": "chat",
            "input_cost_per_token": 3e-6,
            "output_cost_per_token": 1.5e-5,
        },
        "gemini/gemini-2.5-pro": {
            "litellm_provider": "gemini",
            "mode": "chat",
            "input_cost_per_token": 1.25e-6,
            "output_cost_per_token": 1e-5,
        },
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": {  # mixed case: no alias
            "litellm_provider": "together_ai",
            "mode": "chat",
            "input_cost_per_token": 8.8e-7,
            "output_cost_per_token": 8.8e-7,
        },
        "mistral/claude-sonnet-4-5-20250929": {  # another id, same name: the alias is dropped
            "litellm_provider": "mistral",
            "mode": "chat",
            "input_cost_per_token": 3e-6,
            "output_cost_per_token": 1.5e-5,
        },
    }
    result = parse_foreign("litellm", json.dumps(document).encode(), now=NOW)
    found = {m.id: m.aliases for m in result.models}
    assert found == {
        "anthropic/claude-sonnet-4-5-20250929": ("claude-sonnet-4-5-20250929",),
        "google/gemini-2.5-pro": ("gemini-2.5-pro",),
        "meta-llama/llama-3.3-70b-instruct-turbo": (),
        "mistralai/claude-sonnet-4-5-20250929": (),
    }
    assert [c.describe() for c in result.dropped_aliases] == [
        "alias 'claude-sonnet-4-5-20250929' of 'mistralai/claude-sonnet-4-5-20250929' is already "
        "an alias of 'anthropic/claude-sonnet-4-5-20250929'"
    ]


class TestShippedCatalog:
    models = read_catalog_file(SHIPPED_CATALOG, now=NOW)

    def test_aliases_are_unique_and_never_ids(self) -> None:
        assert clashes(self.models) == []
        every = [a for m in self.models for a in m.aliases]
        assert len(every) == len(set(every))
        assert not set(every) & {m.id for m in self.models}

    def test_providers_names_resolve_to_their_models(self) -> None:
        catalog = Catalog(self.models)
        for alias, model_id in {
            "claude-haiku-4-5-20251001": "anthropic/claude-haiku-4.5",
            "claude-haiku-4-5": "anthropic/claude-haiku-4.5",
            "claude-sonnet-4-6": "anthropic/claude-sonnet-4.6",
            "gpt-4.1-nano": "openai/gpt-4.1-nano",
            "gpt-4.1-nano-2025-04-14": "openai/gpt-4.1-nano",
            "gemini-2.5-pro": "google/gemini-2.5-pro",
            "text-embedding-3-small": "openai/text-embedding-3-small",
            "mistral-embed": "mistralai/mistral-embed",
        }.items():
            assert catalog.usable(alias, EVERYTHING).id == model_id

    def test_first_party_upstream_names_are_aliases(self) -> None:
        """What the gateway sends a model's own provider is a name its callers know."""
        hosts = ("api.groq.com", "api.deepinfra.com")
        for m in self.models:
            upstream = m.upstreams[0]
            if not upstream.base_url.startswith(tuple(f"https://{h}" for h in hosts)):
                assert upstream.model in m.aliases, m.id


def test_a_suggestion_never_takes_a_name_from_the_model_that_has_it() -> None:
    newcomer = Model(
        id="openai/gpt-bar", name="Bar", cost=Cost(1.0, 1.0, 1.0), aliases=("gpt-bar",)
    )
    holder = Model(id="openai/gpt-foo", name="Foo", cost=Cost(1.0, 1.0, 1.0), aliases=("gpt-bar",))
    kept, dropped = without_clashes([newcomer, holder], {}, {"openai/gpt-foo": ("gpt-bar",)})
    assert [m.aliases for m in kept] == [(), ("gpt-bar",)]
    assert [(c.model, c.other) for c in dropped] == [("openai/gpt-bar", "openai/gpt-foo")]
