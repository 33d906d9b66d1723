"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API.

Both go through the gateway pipeline (``quantized.gateway.surfaces.messages``)
and answer errors in Anthropic's shape, so the Anthropic SDK raises its own
exceptions and Claude Code shows the message. Query strings (Claude Code always
sends ``?beta=true``) are accepted and ignored; the caller's key may come as
``Authorization: Bearer`` or as ``x-api-key``.
"""

from __future__ import annotations

from quantized.api import schemas
from quantized.api.bodies import BodyBudget
from quantized.api.errors import ANTHROPIC
from quantized.api.model_route import ModelRoute
from quantized.api.routing import Answer, Declared, Header, Operation
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.surfaces.messages import COUNT_TOKENS, MESSAGES

PATH = "/v1/messages"
COUNT_PATH = "/v1/messages/count_tokens"


def messages_routes(
    pipeline: Pipeline, *, max_body_bytes: int, budget: BodyBudget
) -> dict[str, ModelRoute]:
    return {
        path: ModelRoute(pipeline, surface, ANTHROPIC, max_body_bytes=max_body_bytes, budget=budget)
        for path, surface in ((PATH, MESSAGES), (COUNT_PATH, COUNT_TOKENS))
    }


_HEADERS = (
    Header("anthropic-version", "Passed to an Anthropic upstream (default 2023-06-01)"),
    Header("anthropic-beta", "Passed to an Anthropic upstream unchanged"),
    Header("x-api-key", "The caller's API key, as an alternative to Authorization: Bearer"),
)

OPERATIONS = (
    Declared(
        PATH,
        "POST",
        Operation(
            "Create a message (Anthropic's Messages API), routed to the model's upstream",
            ("messages",),
            {
                200: Answer(
                    "The message; with stream=true, Anthropic's server-sent events "
                    "(message_start … message_stop)",
                    schemas.Message,
                    media_types=("application/json", "text/event-stream"),
                ),
            },
            security="caller",
            body=schemas.MessagesRequestBody,
            headers=_HEADERS,
            errors=(403, 404, 410, 429, 502, 504),
            error_schema=schemas.AnthropicError,
        ),
    ),
    Declared(
        COUNT_PATH,
        "POST",
        Operation(
            "Count a message's input tokens: the upstream's count for Anthropic models, "
            "an estimate for others (header x-quantized-token-count: upstream or estimate)",
            ("messages",),
            {200: Answer("The input tokens", schemas.TokenCount)},
            security="caller",
            body=schemas.CountTokensBody,
            headers=_HEADERS,
            errors=(403, 404, 410, 429, 502, 504),
            error_schema=schemas.AnthropicError,
        ),
    ),
)
"""For the OpenAPI document; the pipeline checks the body (``gateway.messages.request``)."""
