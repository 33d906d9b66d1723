"""LiteLLM's Gemini, Vertex AI, Azure and Bedrock entries as upstreams of the native providers.

The fixture (tests/fixtures/litellm_cloud_prices.json) holds real entries of LiteLLM's
model_prices_and_context_window.json (v1.108.7), in its order: Azure's copies before
OpenAI's own, Vertex AI's before AI Studio's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from quantized.catalog.document import load_catalog_text
from quantized.catalog.importers import Imported, ImportOptions, parse_foreign
from quantized.catalog.model import Model
from tests.utils.catalogs import write_catalog
from tests.utils.inprocess import in_process
from tests.utils.processes import quantized_env, run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "litellm_cloud_prices.json"
NOW = 1_795_000_000
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "quantized" / "data" / "catalog.yaml"
GEMINI = "https://generativelanguage.googleapis.com/v1beta"
VERTEX = "https://aiplatform.googleapis.com/v1/publishers/google"
AZURE = "https://acme.openai.azure.com"
MODELS = "/admin/v1/models"
IMPORT = f"{MODELS}/import"


def imported(**options: str) -> Imported:
    return parse_foreign("litellm", FIXTURE.read_bytes(), now=NOW, options=ImportOptions(**options))


def upstreams(model: Model) -> list[dict[str, Any]]:
    """Each upstream's fields that are set."""
    keys = ("provider", "base_url", "model", "api_key_env", "api_version", "region", "auth")
    return [{k: getattr(u, k) for k in keys if getattr(u, k) is not None} for u in model.upstreams]


def by_id(result: Imported) -> dict[str, Model]:
    return {m.id: m for m in result.models}


COMMON_SKIPS = {
    "azure/container": "no input or output price",
    "bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1": "a provisioned-throughput "
    "price (1-month-commitment), not an on-demand model",
    "bedrock/*/1-month-commitment/cohere.command-text-v14": "a provisioned-throughput price "
    "(1-month-commitment), not an on-demand model",
    "gemini-3.5-flash": "same id as an earlier entry (google/gemini-3.5-flash)",
    "gemini-embedding-001": "same id as an earlier entry (google/gemini-embedding-001)",
    "bedrock/invoke/anthropic.claude-3-5-sonnet-20240620-v1:0": "same id as an earlier entry "
    "(anthropic/anthropic.claude-3-5-sonnet-20240620-v1:0)",
    "azure/eu/gpt-4o": "same id as an earlier entry (openai/gpt-4o)",  # data zone: its prices
    "bedrock/ap-northeast-1/deepseek.v3.2": "same id as an earlier entry (deepseek/deepseek.v3.2)",
}
OTHER_API = (
    "Vertex AI serves this model through another API than Gemini's (its maker's, through "
    "rawPredict or an endpoint of a Google Cloud project and region), which no provider "
    "here speaks"
)


def test_gemini_and_vertex_become_native_gemini_upstreams() -> None:
    models = by_id(imported())
    pro = models["google/gemini-2.5-pro"]  # vertex's entry comes first in the file
    assert upstreams(pro) == [
        {
            "provider": "gemini",
            "base_url": GEMINI,
            "model": "gemini-2.5-pro",
            "api_key_env": "GEMINI_API_KEY",
        },
        {
            "provider": "gemini",
            "base_url": VERTEX,
            "model": "gemini-2.5-pro",
            "api_key_env": "VERTEX_API_KEY",
        },
    ]
    assert (pro.cost.prompt, pro.cost.completion, pro.cost.input_cache_read) == (1.25, 10, 0.125)
    assert pro.aliases == ("gemini-2.5-pro",)
    flash = models["google/gemini-3.5-flash"]  # vertex_ai/gemini-3.5-flash: provider vertex_ai
    assert [(u.base_url, u.model) for u in flash.upstreams] == [
        (GEMINI, "gemini-3.5-flash"),
        (VERTEX, "gemini-3.5-flash"),
    ]
    embedder = models["google/gemini-embedding-001"]  # embeddings: OpenAI-compatible endpoint
    assert upstreams(embedder) == [
        {
            "provider": "openai",
            "base_url": f"{GEMINI}/openai",
            "model": "gemini-embedding-001",
            "api_key_env": "GEMINI_API_KEY",
        }
    ]
    for model_id in ("anthropic/claude-sonnet-4-5", "mistralai/codestral-2501"):
        assert models[model_id].upstreams == ()  # Vertex AI's other makers' models
    assert models["anthropic/claude-sonnet-4-5"].cost.input_cache_write == 3.75
    assert models["google/text-embedding-005"].upstreams == ()


def test_azure_without_an_endpoint_imports_prices_only() -> None:
    result = imported()
    models = by_id(result)
    assert upstreams(models["openai/gpt-4o"]) == [
        {
            "provider": "openai",
            "base_url": "https://api.openai.com/v1",
            "model": "gpt-4o",
            "api_key_env": "OPENAI_API_KEY",
        }
    ]  # OpenAI's own entry takes the id although Azure's comes first
    turbo = models["openai/gpt-35-turbo"]
    assert turbo.upstreams == () and (turbo.cost.prompt, turbo.cost.completion) == (0.5, 1.5)
    assert {s.name: s.reason for s in result.skipped} == {
        **COMMON_SKIPS,
        "azure/gpt-4o": "same id as an earlier entry (openai/gpt-4o)",  # no upstream to add
        "deepseek.v3.2": "same id as an earlier entry (deepseek/deepseek.v3.2)",  # us-east-1's
    }
    no_endpoint = (
        "no Azure OpenAI resource endpoint given (azure_endpoint, --azure-endpoint): "
        "LiteLLM does not know it"
    )
    embeddings = "the catalog gives an embedding model OpenAI-compatible upstreams only, which "
    assert {s.name: s.reason for s in result.unrouted} == {
        "azure/gpt-35-turbo": no_endpoint,
        "azure/text-embedding-3-small": embeddings + "Azure OpenAI is not",
        "azure/gpt-5-pro": "Azure serves this model through the Responses API only, which the "
        "azure provider does not speak",
        "text-embedding-005": embeddings + "Vertex AI's is not",
        "vertex_ai/claude-sonnet-4-5": OTHER_API,
        "vertex_ai/codestral-2501": OTHER_API,
        "bedrock/claude_platform/claude-haiku-4-5": "'claude_platform/claude-haiku-4-5' is not "
        "a Bedrock model id (LiteLLM's claude_platform route)",
        "amazon.titan-embed-text-v2:0": embeddings + "Bedrock is not",
    }


def test_azure_with_an_endpoint() -> None:
    result = imported(azure_endpoint=f"{AZURE}/", azure_api_version="2024-10-21")
    models = by_id(result)
    azure = {
        "provider": "azure",
        "base_url": AZURE,
        "model": "gpt-4o",
        "api_key_env": "AZURE_API_KEY",
        "api_version": "2024-10-21",
    }
    gpt4o = models["openai/gpt-4o"]  # same prices as OpenAI's: one more upstream
    assert upstreams(gpt4o)[1:] == [azure]
    assert gpt4o.upstreams[0].base_url == "https://api.openai.com/v1"
    assert gpt4o.cost.prompt == 2.5  # not the EU data zone's 2.75
    assert upstreams(models["openai/gpt-35-turbo"]) == [{**azure, "model": "gpt-35-turbo"}]
    assert models["openai/gpt-5-pro"].upstreams == ()  # Responses API only
    assert "azure/gpt-4o" not in {s.name for s in result.skipped}  # merged, not skipped
    v1 = by_id(imported(azure_endpoint=f"{AZURE}/openai/v1"))["openai/gpt-35-turbo"]
    assert upstreams(v1) == [
        {
            "provider": "azure",
            "base_url": f"{AZURE}/openai/v1",
            "model": "gpt-35-turbo",
            "api_key_env": "AZURE_API_KEY",
        }
    ]


def test_bedrock_regions() -> None:
    result = imported()
    models = by_id(result)
    sonnet = models["anthropic/anthropic.claude-3-5-sonnet-20240620-v1:0"]
    assert upstreams(sonnet) == [
        {
            "provider": "bedrock",
            "base_url": "https://bedrock-runtime.us-east-1.amazonaws.com",
            "model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "region": "us-east-1",
        }
    ]  # SigV4 (the default): no api_key_env
    assert sonnet.aliases == ("anthropic.claude-3-5-sonnet-20240620-v1:0",)
    nova = models["amazon/us.amazon.nova-pro-v1:0"]  # bedrock_converse, a cross-region profile
    assert [u.model for u in nova.upstreams] == ["us.amazon.nova-pro-v1:0"]
    deepseek = models["deepseek/deepseek.v3.2"]  # bedrock/us-east-1/…: the import's region
    assert [(u.base_url, u.region) for u in deepseek.upstreams] == [
        ("https://bedrock-runtime.us-east-1.amazonaws.com", "us-east-1")
    ]
    assert deepseek.aliases == ("deepseek.v3.2",)
    assert models["amazon/amazon.titan-embed-text-v2:0"].upstreams == ()

    paris = imported(bedrock_region="eu-west-3")
    models = by_id(paris)
    assert [(u.base_url, u.region) for u in models["deepseek/deepseek.v3.2"].upstreams] == [
        ("https://bedrock-runtime.eu-west-3.amazonaws.com", "eu-west-3")
    ]  # the entry that names no region, now; the us-east-1 one is a duplicate
    assert {s.name: s.reason for s in paris.skipped} == {
        **COMMON_SKIPS,
        "azure/gpt-4o": "same id as an earlier entry (openai/gpt-4o)",
        "bedrock/us-east-1/deepseek.v3.2": "same id as an earlier entry (deepseek/deepseek.v3.2)",
    }
    assert models["anthropic/anthropic.claude-3-5-sonnet-20240620-v1:0"].upstreams[0].base_url == (
        "https://bedrock-runtime.eu-west-3.amazonaws.com"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"azure_endpoint": AZURE}, "azure_api_version is required with an azure_endpoint"),
        ({"azure_api_version": "2024-10-21"}, "azure_api_version needs an azure_endpoint"),
        ({"azure_endpoint": "acme.openai.azure.com"}, "azure_endpoint must be an http(s) URL"),
        (
            {"azure_endpoint": AZURE, "azure_api_version": "2024 10"},
            "azure_api_version must be an api-version",
        ),
        ({"bedrock_region": "EU West"}, "bedrock_region must be an AWS region"),
    ],
)
def test_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ImportOptions(**options)


def test_whole_import_validates_and_the_shipped_catalog_loads() -> None:
    result = imported(azure_endpoint=AZURE, azure_api_version="2024-10-21")
    assert len(result.models) == 15
    assert load_catalog_text(SHIPPED.read_bytes(), now=NOW)


def test_cli_options(sqlite_url: str) -> None:
    env = quantized_env(sqlite_url)
    args = ("models", "import", "--format", "litellm", str(FIXTURE))
    result = run_cli(
        *args, "--azure-endpoint", AZURE, "--azure-api-version", "2024-10-21",
        "--bedrock-region", "eu-west-3", env=env, check=True,
    )  # fmt: skip
    assert "Imported 15 models" in result.stdout
    assert "skipped azure/eu/gpt-4o: same id as an earlier entry (openai/gpt-4o)" in result.stderr
    vertex = "vertex_ai/claude-sonnet-4-5, vertex_ai/codestral-2501"
    assert f"no upstream for 2 models ({vertex}): {OTHER_API}" in result.stderr
    exported = yaml.safe_load(run_cli("models", "export", env=env, check=True).stdout)
    stored = {m["id"]: m for m in exported["models"]}
    assert stored["openai/gpt-35-turbo"]["upstreams"] == [
        {
            "provider": "azure",
            "base_url": AZURE,
            "model": "gpt-35-turbo",
            "api_key_env": "AZURE_API_KEY",
            "api_version": "2024-10-21",
        }
    ]
    bedrock = stored["anthropic/anthropic.claude-3-5-sonnet-20240620-v1:0"]["upstreams"]
    assert [(u["base_url"], u["region"]) for u in bedrock] == [
        ("https://bedrock-runtime.eu-west-3.amazonaws.com", "eu-west-3")
    ]

    refused = run_cli(*args, "--azure-endpoint", AZURE, env=env)
    assert refused.returncode == 1
    assert "error: azure_api_version is required with an azure_endpoint" in refused.stderr
    catalog = write_catalog(Path(sqlite_url.removeprefix("sqlite:///")).with_name("c.yaml"), [])
    wrong = run_cli("models", "import", str(catalog), "--bedrock-region", "us-west-2", env=env)
    assert wrong.returncode == 1
    assert "are for --format litellm only" in wrong.stderr


@pytest.mark.anyio
async def test_admin_api_options_and_dry_run(tmp_path: Path) -> None:
    params = {
        "format": "litellm",
        "azure_endpoint": AZURE,
        "azure_api_version": "2024-10-21",
        "bedrock_region": "eu-west-3",
    }
    async with in_process(tmp_path) as running:
        client, admin = running.client, running.headers()
        document = FIXTURE.read_bytes()
        json_type = {**admin, "content-type": "application/json"}

        preview = await client.post(
            IMPORT, params={**params, "dry_run": "true"}, content=document, headers=json_type
        )
        assert preview.status_code == 200, preview.text
        assert "openai/gpt-35-turbo" in preview.json()["added"]
        found = preview.json()  # the shipped catalog is there: some would change
        assert len(found["added"]) + len(found["changed"]) + len(found["unchanged"]) == 15
        assert {"name": "azure/eu/gpt-4o", "reason": COMMON_SKIPS["azure/eu/gpt-4o"]} in (
            preview.json()["skipped"]
        )
        listed = await client.get("/admin/v1/models", headers=admin)
        assert "openai/gpt-35-turbo" not in {m["id"] for m in listed.json()["data"]}

        done = await client.post(IMPORT, params=params, content=document, headers=json_type)
        assert done.status_code == 200, done.text
        turbo = (await client.get(f"{MODELS}/openai/gpt-35-turbo", headers=admin)).json()
        assert [(u["provider"], u["base_url"], u["api_version"]) for u in turbo["upstreams"]] == [
            ("azure", AZURE, "2024-10-21")
        ]
        sonnet = await client.get(
            f"{MODELS}/anthropic/anthropic.claude-3-5-sonnet-20240620-v1:0", headers=admin
        )
        assert [u["region"] for u in sonnet.json()["upstreams"]] == ["eu-west-3"]
        pro = (await client.get(f"{MODELS}/google/gemini-2.5-pro", headers=admin)).json()
        assert [(u["provider"], u["base_url"]) for u in pro["upstreams"]] == [
            ("gemini", GEMINI),
            ("gemini", VERTEX),
        ]

        for bad, message in (
            ({"azure_endpoint": AZURE}, "azure_api_version is required with an azure_endpoint"),
            ({"bedrock_region": "EU"}, "bedrock_region must be an AWS region"),
            (
                {"format": "openrouter", "bedrock_region": "us-west-2"},
                "are for format=litellm only",
            ),
        ):
            answer = await client.post(
                IMPORT, params={"format": "litellm", **bad}, content=document, headers=json_type
            )
            assert answer.status_code == 400, answer.text
            assert message in answer.json()["error"]["message"]
