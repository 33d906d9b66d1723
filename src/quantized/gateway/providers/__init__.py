"""Upstream wire protocols, one module each behind :class:`~.base.Provider`."""

from __future__ import annotations

from quantized.gateway.providers.anthropic import AnthropicProvider
from quantized.gateway.providers.azure import AzureProvider
from quantized.gateway.providers.base import Provider
from quantized.gateway.providers.bedrock import BedrockProvider
from quantized.gateway.providers.gemini import GeminiProvider
from quantized.gateway.providers.openai import OpenAIProvider


def providers() -> dict[str, Provider]:
    """The catalog's ``upstreams[].provider`` names, and a provider of each, for one runtime."""
    return {
        "openai": OpenAIProvider(),
        "anthropic": AnthropicProvider(),
        "azure": AzureProvider(),
        "bedrock": BedrockProvider(),
        "gemini": GeminiProvider(),
    }
