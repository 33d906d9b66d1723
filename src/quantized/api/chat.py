"""``POST /v1/chat/completions``: OpenAI's chat completions, through the gateway pipeline."""

from __future__ import annotations

from quantized.api import schemas
from quantized.api.bodies import BodyBudget
from quantized.api.errors import OPENAI
from quantized.api.model_route import ModelRoute
from quantized.api.routing import Answer, Declared, Operation
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.surfaces.chat import CHAT_COMPLETIONS

PATH = "/v1/chat/completions"


def chat_completions(pipeline: Pipeline, *, max_body_bytes: int, budget: BodyBudget) -> ModelRoute:
    return ModelRoute(
        pipeline, CHAT_COMPLETIONS, OPENAI, max_body_bytes=max_body_bytes, budget=budget
    )


OPERATIONS = (
    Declared(
        PATH,
        "POST",
        Operation(
            "Create a chat completion, routed to the model's upstream",
            ("chat",),
            {
                200: Answer(
                    "The completion; with stream=true, server-sent events of "
                    "chat.completion.chunk objects ending with data: [DONE]",
                    schemas.ChatCompletion,
                    media_types=("application/json", "text/event-stream"),
                ),
            },
            security="caller",
            body=schemas.ChatRequestBody,
            errors=(403, 404, 410, 429, 502, 504),
        ),
    ),
)
"""For the OpenAPI document; the pipeline checks the body (``gateway.surfaces.chat``)."""
