from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from quantized.catalog.document import (
    dump_catalog,
    load_catalog_text,
    read_catalog_file,
)
from quantized.catalog.model import FEATURES, GENERATIVE, MODALITIES
from quantized.errors import CatalogFormatError, ConfigurationError
from quantized.services.catalog import SHIPPED_CATALOG
from tests.utils.catalogs import entry, write_catalog

NOW = 1_800_000_000


def parse(entries: list[dict[str, object]]) -> list[object]:
    return load_catalog_text(yaml.safe_dump({"version": 1, "models": entries}), now=NOW)


def test_parses_a_complete_entry() -> None:
    (model,) = load_catalog_text(
        """
version: 1
models:
  - id: openai/gpt-4.1-nano
    name: GPT 4.1 Nano
    description: Fast.
    created: 2025-04-14
    input_modalities: [text, image]
    output_modalities: [text]
    supported_features: [tool_calls, structured_output]
    context_length: 1047576
    cost: {prompt: 0.1, completion: 0.4, input_cache_read: 0.025}
    price_source: {url: "https://openai.com/api/pricing", checked: 2026-07-24}
    upstreams:
      - {provider: openai, base_url: "https://api.openai.com/v1", model: gpt-4.1-nano,
         api_key_env: OPENAI_API_KEY}
""",
        now=NOW,
    )
    assert model.id == "openai/gpt-4.1-nano"
    assert model.author == "openai"
    assert model.created == int(dt.datetime(2025, 4, 14, tzinfo=dt.UTC).timestamp())
    assert model.cost.input_cache_read == 0.025
    assert model.upstreams[0].api_key_env == "OPENAI_API_KEY"
    assert model.price_source is not None and model.price_source.checked == "2026-07-24"


def test_defaults() -> None:
    (model,) = parse([{"id": "a/b", "name": "B", "cost": {"prompt": 2, "completion": 3}}])
    assert model.status == "active"
    assert model.created == NOW
    assert model.input_modalities == ("text",)
    assert model.cost.input_cache_read == 2  # no discount unless stated
    assert model.cost.input_cache_write is None  # writes cost the prompt price


def test_a_cache_write_price_is_kept_and_written_back() -> None:
    cost = {"prompt": 3, "completion": 15, "input_cache_read": 0.3, "input_cache_write": 3.75}
    (model,) = parse([{"id": "a/b", "name": "B", "cost": cost}])
    assert model.cost.input_cache_write == 3.75
    exported = dump_catalog([model])
    assert "cost: {prompt: 3, completion: 15, input_cache_read: 0.3, input_cache_write: 3.75}" in (
        exported
    )
    assert load_catalog_text(exported, now=NOW) == [model]
    (plain,) = parse([{"id": "a/b", "name": "B", "cost": {"prompt": 3, "completion": 15}}])
    assert "input_cache_write" not in dump_catalog([plain])


def test_endpoints_and_a_responses_upstream_are_kept_and_written_back() -> None:
    upstreams = [
        {"provider": "openai", "base_url": "https://api.openai.com/v1", "model": "e"},
        {"provider": "openai", "base_url": "https://x.test/v1", "model": "e", "responses": True},
    ]
    (model,) = parse([entry("openai/e", endpoints=["embeddings"], upstreams=upstreams)])
    assert model.endpoints == ("embeddings",)
    assert [u.responses for u in model.upstreams] == [False, True]
    exported = dump_catalog([model])
    assert "endpoints: [embeddings]" in exported
    written = yaml.safe_load(exported)["models"][0]["upstreams"]
    assert [u.get("responses") for u in written] == [None, True]  # false: left out
    assert load_catalog_text(exported, now=NOW) == [model]
    (plain,) = parse([entry("openai/p")])
    assert plain.endpoints == GENERATIVE
    assert "endpoints" not in dump_catalog([plain])  # the default: left out


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"endpoints": ["chat", "images"]}, "models[0].endpoints[1]"),
        ({"endpoints": []}, "models[0].endpoints"),
        ({"endpoints": ["chat", "chat"]}, "models[0].endpoints"),
        ({"endpoints": "chat"}, "models[0].endpoints"),
        (
            {
                "upstreams": [
                    {
                        "provider": "anthropic",
                        "base_url": "https://api.anthropic.com",
                        "model": "m",
                        "responses": True,
                    }
                ]
            },
            "models[0].upstreams[0].responses",
        ),
        ({"id": "no-slash"}, "models[0].id"),
        ({"id": "Upper/Case"}, "models[0].id"),
        ({"cost": {"prompt": -1, "completion": 1}}, "models[0].cost.prompt"),
        ({"cost": {"prompt": "1", "completion": 1}}, "models[0].cost.prompt"),
        (
            {"cost": {"prompt": 1, "completion": 1, "input_cache_write": -0.5}},
            "models[0].cost.input_cache_write",
        ),
        ({"input_modalities": ["text", "smell"]}, "models[0].input_modalities[1]"),
        ({"supported_features": ["vision"]}, "models[0].supported_features[0]"),
        ({"supported_features": ["tool_calls", "tool_calls"]}, "models[0].supported_features"),
        ({"status": "retired"}, "models[0].status"),
        ({"surprise": 1}, "models[0].surprise"),
        (
            {"upstreams": [{"provider": "bard", "base_url": "https://x", "model": "m"}]},
            "models[0].upstreams[0].provider",
        ),
    ],
)
def test_rejects_bad_entries_naming_the_field(override: dict[str, object], where: str) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse([entry("openai/bad", **override)])
    assert caught.value.param == where
    assert where in caught.value.message


def test_error_names_the_entry() -> None:
    with pytest.raises(CatalogFormatError, match="entry 'openai/bad'"):
        parse([entry("openai/ok"), entry("openai/bad", cost={"prompt": -1, "completion": 1})])


def test_rejects_duplicate_ids() -> None:
    with pytest.raises(CatalogFormatError, match="duplicate id 'openai/x'") as caught:
        parse([entry("openai/x"), entry("openai/x")])
    assert caught.value.param == "models[1].id"


@pytest.mark.parametrize("text", ["models: [", "just a string", "version: 2\nmodels: []"])
def test_rejects_documents_that_are_not_catalogs(text: str) -> None:
    with pytest.raises(CatalogFormatError):
        load_catalog_text(text, now=NOW)


def test_json_is_accepted() -> None:
    import json

    models = load_catalog_text(json.dumps({"models": [entry("openai/x")]}), now=NOW)
    assert [m.id for m in models] == ["openai/x"]


def test_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read catalog file"):
        read_catalog_file(tmp_path / "missing.yaml", now=NOW)


def test_round_trip_changes_nothing(tmp_path: Path) -> None:
    original = read_catalog_file(SHIPPED_CATALOG, now=NOW)
    exported = dump_catalog(original)
    again = load_catalog_text(exported, now=NOW)
    assert again == sorted(original, key=lambda m: m.id)
    assert dump_catalog(again) == exported
    path = write_catalog(tmp_path / "c.yaml", [entry("openai/x", created=1_700_000_123)])
    odd = read_catalog_file(path, now=NOW)
    assert load_catalog_text(dump_catalog(odd), now=NOW) == odd


class TestShippedCatalog:
    models = read_catalog_file(SHIPPED_CATALOG, now=NOW)

    def test_size_and_authors(self) -> None:
        authors = {m.author for m in self.models}
        assert len(self.models) >= 40
        assert len(authors) >= 8
        for author in (
            "openai",
            "anthropic",
            "google",
            "meta-llama",
            "mistralai",
            "deepseek",
            "qwen",
            "x-ai",
        ):
            assert author in authors

    def test_every_entry_is_complete(self) -> None:
        for model in self.models:
            assert model.status == "active", model.id
            assert model.description, model.id
            assert model.price_source is not None and model.price_source.url, model.id
            dt.date.fromisoformat(model.price_source.checked)
            assert model.upstreams, model.id
            assert 0 <= model.cost.input_cache_read <= model.cost.prompt, model.id
            write = model.cost.input_cache_write
            if model.author == "anthropic":  # 5-minute cache writes: 1.25x input
                assert write == model.cost.prompt * 1.25, model.id
            elif model.id in ("openai/gpt-5.6", "openai/gpt-6-astra"):  # LiteLLM 1.108.7
                assert write == model.cost.prompt * 1.25, model.id
            else:
                assert write is None, model.id
            assert model.cost.prompt > 0, model.id
            assert set(model.input_modalities) <= set(MODALITIES)
            if "embeddings" in model.endpoints:  # vectors out: no modality, no output price
                assert model.endpoints == ("embeddings",), model.id
                assert model.output_modalities == () and model.cost.completion == 0, model.id
            else:
                assert model.endpoints == GENERATIVE, model.id
                assert "text" in model.output_modalities, model.id
                assert model.cost.completion > 0, model.id
            assert set(model.supported_features) <= set(FEATURES)

    def test_embedding_models_and_their_prices(self) -> None:
        embedders = {m.id: m for m in self.models if m.endpoints == ("embeddings",)}
        assert {i: m.cost.prompt for i, m in embedders.items()} == {
            "openai/text-embedding-3-small": 0.02,
            "openai/text-embedding-3-large": 0.13,
            "openai/text-embedding-ada-002": 0.1,
            "mistralai/mistral-embed": 0.1,
        }
        for model in embedders.values():
            assert model.input_modalities == ("text",), model.id
            assert model.aliases == (model.upstreams[0].model,), model.id
            assert model.price_source is not None
            assert model.price_source.checked == "2026-11-30", model.id
        for model_id in ("openai/text-embedding-3-small", "openai/text-embedding-ada-002"):
            assert embedders[model_id].context_length == 8191

    def test_openai_upstreams_serve_the_responses_api(self) -> None:
        """OpenAI's own API serves /responses; no other upstream claims to."""
        upstreams = [u for m in self.models for u in m.upstreams]
        assert sum(u.responses for u in upstreams) >= 13
        for upstream in upstreams:
            assert upstream.responses == (upstream.base_url == "https://api.openai.com/v1"), (
                upstream
            )

    def test_image_input_is_a_modality_not_a_feature(self) -> None:
        assert any("image" in m.input_modalities for m in self.models)
        assert all("vision" not in m.supported_features for m in self.models)
