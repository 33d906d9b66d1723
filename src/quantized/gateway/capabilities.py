"""Checks made before any upstream is called: what the request asks of the model."""

from __future__ import annotations

from quantized.catalog.model import Model
from quantized.errors import InvalidRequestError
from quantized.gateway.surfaces.base import ModelRequest

ENDPOINT_PATHS = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
}


def check_endpoint(endpoint: str, model: Model) -> None:
    """Refuse a model for an API it does not serve (an embedding model for chat, …)."""
    if endpoint not in model.endpoints:
        served = ", ".join(ENDPOINT_PATHS[e] for e in model.endpoints)
        raise InvalidRequestError(
            f"The model '{model.id}' is not served by {ENDPOINT_PATHS[endpoint]}; use {served}.",
            param="model",
            code="unsupported_endpoint",
        )


def check_capabilities(request: ModelRequest, model: Model) -> None:
    """Refuse what the model cannot do, naming the offending part of the request."""
    for modality, param in request.modalities.items():
        if modality not in model.input_modalities:
            raise InvalidRequestError(
                f"The model '{model.id}' does not accept {modality} input.",
                param=param,
                code="unsupported_modality",
            )
    if request.uses_tools and "tool_calls" not in model.supported_features:
        raise InvalidRequestError(
            f"The model '{model.id}' does not support tools.",
            param="tools",
            code="unsupported_feature",
        )
    if request.wants_json_schema and "structured_output" not in model.supported_features:
        raise InvalidRequestError(
            f"The model '{model.id}' does not support structured output (json_schema).",
            param=request.json_schema_param,
            code="unsupported_feature",
        )
