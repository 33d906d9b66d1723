"""``POST /v1/embeddings``: OpenAI's embeddings API, through the gateway pipeline."""

from __future__ import annotations

from quantized.api.bodies import BodyBudget
from quantized.api.embedding_schemas import EmbeddingList, EmbeddingsRequestBody
from quantized.api.errors import OPENAI
from quantized.api.model_route import ModelRoute
from quantized.api.routing import Answer, Declared, Operation
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.surfaces.embeddings import EMBEDDINGS

PATH = "/v1/embeddings"


def embeddings(pipeline: Pipeline, *, max_body_bytes: int, budget: BodyBudget) -> ModelRoute:
    return ModelRoute(pipeline, EMBEDDINGS, OPENAI, max_body_bytes=max_body_bytes, budget=budget)


OPERATIONS = (
    Declared(
        PATH,
        "POST",
        Operation(
            "Create embeddings, routed to the model's upstream",
            ("embeddings",),
            {200: Answer("The embeddings, as the upstream answered", EmbeddingList)},
            security="caller",
            body=EmbeddingsRequestBody,
            errors=(403, 404, 410, 429, 502, 504),
        ),
    ),
)
"""For the OpenAPI document; the pipeline checks the body (``gateway.surfaces.embeddings``)."""
