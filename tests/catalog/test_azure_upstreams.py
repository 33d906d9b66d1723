"""Azure OpenAI upstreams in the catalog: a deployment needs its api_version (Azure refuses a
request without one), the v1 API takes none; Azure deployments may serve embeddings."""

from __future__ import annotations

from typing import Any

import jsonschema_rs  # schemathesis's validator
import pytest

from quantized.catalog.document import parse_catalog
from quantized.catalog.schema import CatalogEntry
from quantized.errors import CatalogFormatError
from tests.utils.catalogs import entry

RESOURCE = "https://contoso.openai.azure.com"
DEPLOYMENT = {"provider": "azure", "base_url": RESOURCE, "model": "gpt-4o-prod"}
VERSIONED = {**DEPLOYMENT, "api_version": "2024-10-21"}
V1 = {**DEPLOYMENT, "base_url": f"{RESOURCE}/openai/v1"}
ANTHROPIC = {"provider": "anthropic", "base_url": "https://api.anthropic.com", "model": "c"}
SCHEMA = jsonschema_rs.validator_for(CatalogEntry.model_json_schema())


def parsed(**fields: Any) -> Any:
    (model,) = parse_catalog({"models": [entry("azure/x", **fields)]}, now=0)
    return model


@pytest.mark.parametrize("upstream", [DEPLOYMENT, {**DEPLOYMENT, "api_version": None}])
def test_a_deployment_without_an_api_version_is_refused(upstream: dict[str, Any]) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parsed(upstreams=[upstream])
    assert caught.value.param == "models[0].upstreams[0].api_version"
    assert "api_version is required for an azure deployment" in caught.value.message
    assert not SCHEMA.is_valid(entry("azure/x", upstreams=[upstream]))


@pytest.mark.parametrize(
    "upstream",
    [VERSIONED, V1, {**V1, "base_url": f"{RESOURCE}/openai/v1/"}, {**V1, "api_version": "preview"}],
)
def test_a_versioned_deployment_or_the_v1_api_is_accepted(upstream: dict[str, Any]) -> None:
    model = parsed(upstreams=[{**upstream, "auth": "entra"}])
    assert model.upstreams[0].api_version == upstream.get("api_version")
    assert model.upstreams[0].auth == "entra"
    assert SCHEMA.is_valid(entry("azure/x", upstreams=[upstream]))


def test_other_providers_need_no_api_version() -> None:
    assert parsed(upstreams=[ANTHROPIC]).upstreams[0].api_version is None
    assert SCHEMA.is_valid(entry("azure/x", upstreams=[ANTHROPIC]))


def test_azure_deployments_may_serve_embeddings() -> None:
    model = parsed(endpoints=["embeddings"], upstreams=[VERSIONED, V1])
    assert model.endpoints == ("embeddings",)
    assert SCHEMA.is_valid(entry("azure/x", endpoints=["embeddings"], upstreams=[VERSIONED]))
    with pytest.raises(CatalogFormatError):
        parsed(endpoints=["embeddings"], upstreams=[VERSIONED, ANTHROPIC])
    assert not SCHEMA.is_valid(
        entry("azure/x", endpoints=["embeddings"], upstreams=[VERSIONED, ANTHROPIC])
    )
