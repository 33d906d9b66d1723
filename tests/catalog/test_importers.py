"""Importers on small real-shaped documents (tests/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantized.catalog.document import dump_catalog, load_catalog_text
from quantized.catalog.importers import FORMATS, parse_foreign
from quantized.catalog.model import GENERATIVE
from quantized.errors import CatalogFormatError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = 1_795_000_000  # 2026-11-18


def imported(name: str, file: str) -> dict[str, object]:
    result = parse_foreign(name, (FIXTURES / file).read_bytes(), now=NOW)
    return {"models": {m.id: m for m in result.models}, "skipped": result.skipped}


def test_formats() -> None:
    assert set(FORMATS) == {"quantized", "openrouter", "litellm"}


def test_openrouter() -> None:
    result = imported("openrouter", "openrouter_models.json")
    models = result["models"]
    assert isinstance(models, dict)
    nano = models["openai/gpt-4.1-nano"]
    assert (nano.cost.prompt, nano.cost.completion, nano.cost.input_cache_read) == (0.1, 0.4, 0.025)
    assert nano.input_modalities == ("text", "image")  # "file" dropped, listing order
    assert nano.supported_features == ("tool_calls", "structured_output", "prompt_caching")
    assert nano.created == 1744651369 and nano.context_length == 1047576
    assert nano.name == "OpenAI: GPT-4.1 Nano"
    assert nano.upstreams[0].base_url == "https://openrouter.ai/api/v1"
    assert nano.upstreams[0].model == "openai/gpt-4.1-nano"
    assert nano.upstreams[0].api_key_env == "OPENROUTER_API_KEY"
    sonnet = models["anthropic/claude-sonnet-4.5"]
    assert "reasoning" in sonnet.supported_features
    assert sonnet.cost.input_cache_read == 0.3
    assert sonnet.cost.input_cache_write == 3.75  # "0.00000375" per token
    assert nano.cost.input_cache_write is None  # no write price: billed as prompt tokens
    llama = models["meta-llama/llama-3.3-70b-instruct"]
    assert llama.cost.input_cache_read == llama.cost.prompt == 0.13  # no cache price: no discount
    assert "prompt_caching" not in llama.supported_features
    image = models["google/gemini-2.5-flash-image"]
    assert image.output_modalities == ("text", "image")
    assert "tool_calls" not in image.supported_features
    assert [(s.name, s.reason) for s in result["skipped"]] == [  # type: ignore[attr-defined]
        ("openrouter/auto", "variable pricing (negative prices)")
    ]
    assert all(m.aliases == () for m in models.values())  # OpenRouter's ids are the names
    assert nano.endpoints == image.endpoints == GENERATIVE
    embedder = models["openai/text-embedding-3-small"]
    assert embedder.endpoints == ("embeddings",)
    assert embedder.output_modalities == ()  # "embeddings" is none of the four
    assert embedder.input_modalities == ("text",)
    assert (embedder.cost.prompt, embedder.cost.completion) == (0.02, 0)
    assert embedder.upstreams[0].responses is False  # OpenRouter's: not claimed


def test_litellm() -> None:
    result = imported("litellm", "litellm_model_prices.json")
    models = result["models"]
    assert isinstance(models, dict)
    assert set(models) == {
        "openai/gpt-4.1-nano",
        "anthropic/claude-haiku-4-5",
        "google/gemini-2.5-flash",
        "deepseek/deepseek-v4-pro",
        "x-ai/grok-4.3",
        "meta-llama/llama-3.3-70b-versatile",
        "meta-llama/llama-3.3-70b-instruct-turbo",
        "anthropic/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "google/gemini-embedding-001",
        "openai/text-embedding-3-small",
        "mistralai/mistral-embed",
        "openai/codex-mini-latest",
    }
    nano = models["openai/gpt-4.1-nano"]
    assert (nano.cost.prompt, nano.cost.completion, nano.cost.input_cache_read) == (0.1, 0.4, 0.025)
    assert nano.supported_features[:2] == ("tool_calls", "structured_output")
    assert nano.input_modalities == ("text", "image")
    assert nano.upstreams[0].base_url == "https://api.openai.com/v1"
    flash = models["google/gemini-2.5-flash"]
    assert flash.input_modalities == ("text", "image", "audio", "video")
    assert [(u.provider, u.base_url, u.api_key_env) for u in flash.upstreams] == [
        ("gemini", "https://aiplatform.googleapis.com/v1/publishers/google", "VERTEX_API_KEY")
    ]  # Vertex AI express mode
    assert models["anthropic/claude-haiku-4-5"].cost.input_cache_write == 1.25  # 1.25e-06
    deepseek = models["deepseek/deepseek-v4-pro"]
    assert deepseek.cost.input_cache_read == 0.003625
    assert deepseek.cost.input_cache_write is None  # LiteLLM's 0.0: writes are not billed apart
    assert nano.cost.input_cache_write is None
    groq = models["meta-llama/llama-3.3-70b-versatile"]
    assert groq.upstreams[0].base_url == "https://api.groq.com/openai/v1"
    assert groq.upstreams[0].model == "llama-3.3-70b-versatile"
    together = models["meta-llama/llama-3.3-70b-instruct-turbo"]
    assert together.upstreams[0].model == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert together.price_source is not None and together.price_source.checked == "2026-11-18"
    assert together.aliases == ()  # Together's name is mixed case: not an alias
    assert models["anthropic/claude-haiku-4-5"].aliases == ("claude-haiku-4-5",)
    assert groq.aliases == ("llama-3.3-70b-versatile",)
    reasons = {s.name: s.reason for s in result["skipped"]}  # type: ignore[attr-defined]
    assert reasons == {
        "gpt-4o-mini-tts": "mode 'audio_speech' is not a chat, responses or embedding model",
    }


def test_litellm_embedding_and_responses_modes() -> None:
    models = imported("litellm", "litellm_model_prices.json")["models"]
    assert isinstance(models, dict)
    small = models["openai/text-embedding-3-small"]
    assert small.endpoints == ("embeddings",)
    assert (small.cost.prompt, small.cost.completion, small.cost.input_cache_read) == (
        0.02,
        0,
        0.02,
    )
    assert small.output_modalities == () and small.input_modalities == ("text",)
    assert small.context_length == 8191 and small.aliases == ("text-embedding-3-small",)
    assert small.upstreams[0].model == "text-embedding-3-small"
    assert small.upstreams[0].responses  # OpenAI's own API serves the Responses API
    mistral = models["mistralai/mistral-embed"]  # no output price at all: still 0
    assert (mistral.cost.prompt, mistral.cost.completion) == (0.1, 0)
    assert mistral.endpoints == ("embeddings",)
    assert mistral.upstreams[0].base_url == "https://api.mistral.ai/v1"
    assert not mistral.upstreams[0].responses
    gemini = models["google/gemini-embedding-001"]
    assert gemini.endpoints == ("embeddings",) and gemini.cost.prompt == 0.15
    codex = models["openai/codex-mini-latest"]  # mode: responses
    assert codex.endpoints == GENERATIVE
    assert (codex.cost.prompt, codex.cost.completion) == (1.5, 6)
    assert models["openai/gpt-4.1-nano"].endpoints == GENERATIVE
    assert models["openai/gpt-4.1-nano"].upstreams[0].responses
    groq = models["meta-llama/llama-3.3-70b-versatile"]
    assert not groq.upstreams[0].responses
    anthropic = models["anthropic/claude-haiku-4-5"]
    assert not anthropic.upstreams[0].responses


@pytest.mark.parametrize("name", ["openrouter", "litellm"])
def test_import_then_export_round_trips(name: str) -> None:
    file = {"openrouter": "openrouter_models.json", "litellm": "litellm_model_prices.json"}[name]
    models = parse_foreign(name, (FIXTURES / file).read_bytes(), now=NOW).models
    exported = dump_catalog(models)
    assert load_catalog_text(exported, now=NOW) == sorted(models, key=lambda m: m.id)
    assert dump_catalog(load_catalog_text(exported, now=NOW)) == exported


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("openrouter", b"[1, 2]", "expected OpenRouter's"),
        (
            "openrouter",
            b'{"data": [{"id": "a/b", "pricing": {"prompt": "x", "completion": "1"}}]}',
            "entry 'a/b' (pricing.prompt: not a number)",
        ),
        ("litellm", b'{"a": 1}', "entry 'a' is not an object"),
        ("litellm", b"not json", "not valid JSON"),
    ],
)
def test_malformed_documents_name_the_entry(name: str, text: bytes, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_foreign(name, text, now=NOW)
