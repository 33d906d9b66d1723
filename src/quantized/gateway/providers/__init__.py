"""Upstream wire protocols, one module each behind :class:`~.base.Provider`."""

from __future__ import annotations

from types import MappingProxyType

from quantized.gateway.providers.anthropic import AnthropicProvider
from quantized.gateway.providers.base import Provider
from quantized.gateway.providers.openai import OpenAIProvider

PROVIDERS: MappingProxyType[str, Provider] = MappingProxyType(
    {"openai": OpenAIProvider(), "anthropic": AnthropicProvider()}
)
"""The catalog's ``upstreams[].provider`` names, and the (stateless) providers they select."""
