"""An embedding model's upstreams: OpenAI-compatible only (Anthropic has no embeddings API)."""

from __future__ import annotations

import jsonschema_rs  # schemathesis's validator
import pytest

from quantized.catalog.document import parse_catalog
from quantized.catalog.schema import CatalogEntry
from quantized.errors import CatalogFormatError
from tests.utils.catalogs import entry

OPENAI = {"provider": "openai", "base_url": "https://api.openai.com/v1", "model": "e"}
ANTHROPIC = {"provider": "anthropic", "base_url": "https://api.anthropic.com", "model": "c"}


def test_an_embedding_model_with_openai_compatible_upstreams_is_accepted() -> None:
    (model,) = parse_catalog(
        {"models": [entry("openai/embed", endpoints=["embeddings"], upstreams=[OPENAI] * 2)]},
        now=0,
    )
    assert model.endpoints == ("embeddings",)


@pytest.mark.parametrize(
    ("endpoints", "upstreams"),
    [(["embeddings"], [ANTHROPIC]), (["chat", "embeddings"], [OPENAI, ANTHROPIC])],
)
def test_an_anthropic_upstream_cannot_serve_embeddings(
    endpoints: list[str], upstreams: list[dict[str, str]]
) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog(
            {"models": [entry("x/embed", endpoints=endpoints, upstreams=upstreams)]}, now=0
        )
    assert caught.value.param == "models[0].endpoints"
    assert "Anthropic has no embeddings API" in caught.value.message


def test_a_generative_model_may_have_anthropic_upstreams() -> None:
    (model,) = parse_catalog({"models": [entry("x/chat", upstreams=[ANTHROPIC])]}, now=0)
    assert "embeddings" not in model.endpoints


def test_the_json_schema_says_the_same() -> None:
    """The OpenAPI document's catalog entry holds the rule too (``if``/``then``), so a client
    (or schemathesis) generating valid entries never makes one the server refuses."""
    schema = jsonschema_rs.validator_for(CatalogEntry.model_json_schema())
    assert schema.is_valid(entry("x/embed", endpoints=["embeddings"], upstreams=[OPENAI]))
    assert schema.is_valid(entry("x/chat", upstreams=[ANTHROPIC]))
    assert schema.is_valid(entry("x/chat", endpoints=["chat"], upstreams=[ANTHROPIC]))
    for upstreams in ([ANTHROPIC], [OPENAI, ANTHROPIC]):
        assert not schema.is_valid(entry("x/e", endpoints=["embeddings"], upstreams=upstreams))
