"""OpenAI's Responses API: ``POST /v1/responses`` through the gateway pipeline.

The surface (``quantized.gateway.surfaces.responses``) passes the request to an
upstream that serves this API, or translates it for any other; errors are in
OpenAI's shape, and inside a stream an ``error`` event of this API.
"""

from __future__ import annotations

from quantized.api import schemas
from quantized.api.bodies import BodyBudget
from quantized.api.errors import RESPONSES
from quantized.api.model_route import ModelRoute
from quantized.api.routing import Answer, Declared, Operation
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.responses.stored import ResponseStore
from quantized.gateway.surfaces.responses import Responses

PATH = "/v1/responses"


def create_response(
    pipeline: Pipeline, store: ResponseStore | None, *, max_body_bytes: int, budget: BodyBudget
) -> ModelRoute:
    return ModelRoute(
        pipeline, Responses(store), RESPONSES, max_body_bytes=max_body_bytes, budget=budget
    )


OPERATIONS = (
    Declared(
        PATH,
        "POST",
        Operation(
            "Create a model response (OpenAI's Responses API), routed to the model's upstream",
            ("responses",),
            {
                200: Answer(
                    "The response; with stream=true, the Responses API's server-sent events "
                    "(response.created … response.completed)",
                    schemas.ResponseObject,
                    media_types=("application/json", "text/event-stream"),
                ),
            },
            security="caller",
            body=schemas.ResponsesRequestBody,
            errors=(403, 404, 410, 429, 502, 504),
        ),
    ),
)
"""For the OpenAPI document; the pipeline checks the body (``gateway.responses.request``)."""
