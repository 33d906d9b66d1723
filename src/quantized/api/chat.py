"""``POST /v1/chat/completions``: OpenAI's chat completions, through the gateway pipeline."""

from __future__ import annotations

from quantized.api.bodies import BodyBudget
from quantized.api.errors import OPENAI
from quantized.api.model_route import ModelRoute
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.surfaces.chat import CHAT_COMPLETIONS

PATH = "/v1/chat/completions"


def chat_completions(pipeline: Pipeline, *, max_body_bytes: int, budget: BodyBudget) -> ModelRoute:
    return ModelRoute(
        pipeline, CHAT_COMPLETIONS, OPENAI, max_body_bytes=max_body_bytes, budget=budget
    )
