"""What a request could cost at most: the amount reserved against hard budgets.

    prompt tokens     = the body's bytes / QUANTIZED_BUDGET_PROMPT_BYTES_PER_TOKEN (rounded up)
    completion tokens = the request's own bound (max_tokens, max_completion_tokens × n,
                        max_output_tokens); without one, QUANTIZED_BUDGET_UNBOUNDED_OUTPUT
                        decides: the model's context length, a default, or a 400
    worst case        = their cost at the model's prices, every prompt token priced as
                        the dearer of a plain input token and a cache write

Only requests that a hard budget applies to are estimated.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

from quantized.catalog.model import Cost, Model
from quantized.errors import InvalidRequestError
from quantized.gateway.surfaces.base import ModelRequest
from quantized.usage.cost import PICO, cost_usd


@dataclass(frozen=True, slots=True)
class Reserve:
    """The rules of the estimate (from settings)."""

    bytes_per_token: float = 3.0
    unbounded: Literal["context", "default", "refuse"] = "context"
    default_output_tokens: int = 4096


def output_bound(request: ModelRequest, model: Model, rules: Reserve) -> int:
    bound = request.max_output_tokens
    if bound is not None:
        return bound
    if rules.unbounded == "refuse":
        raise InvalidRequestError(
            "A hard budget applies to this request, so it must bound its output: set "
            "max_tokens (max_output_tokens on the Responses API).",
            param="max_tokens",
            code="max_tokens_required",
        )
    if rules.unbounded == "context" and model.context_length:
        return model.context_length
    return rules.default_output_tokens


def worst_case(
    request: ModelRequest, model: Model, body_bytes: int, rules: Reserve, when: float
) -> int:
    """The most the request can cost, in picodollars, at the price in force at ``when``
    (when it began: the price it will be charged at)."""
    prompt = math.ceil(body_bytes / rules.bytes_per_token)
    completion = output_bound(request, model, rules)
    per_prompt, per_completion = _per_token(model.price_at(when)[0])
    return prompt * per_prompt + completion * per_completion


@functools.lru_cache(maxsize=4096)
def _per_token(prices: Cost) -> tuple[int, int]:
    """Picodollars per prompt token (the dearer of a plain and a cache-written one) and per
    completion token, rounded up (prices with more than six decimals)."""
    prompt = max(cost_usd(prices, 1, 0, 0), cost_usd(prices, 1, 0, 0, 1))
    completion = cost_usd(prices, 0, 0, 1)
    return math.ceil(prompt * PICO), math.ceil(completion * PICO)
