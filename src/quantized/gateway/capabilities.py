"""Checks made before any upstream is called: the model, and what the request asks of it."""

from __future__ import annotations

from quantized.catalog.access import ModelAccess
from quantized.catalog.listing import Catalog
from quantized.catalog.model import Model
from quantized.errors import InvalidRequestError
from quantized.gateway.request import ChatRequest


def resolve_model(catalog: Catalog, model_id: str, access: ModelAccess) -> Model:
    """The model a request may use, by the listing's rule (saying so when it is forbidden)."""
    return catalog.usable(model_id, access, say_forbidden=True)


def check_capabilities(request: ChatRequest, model: Model) -> None:
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
            param="response_format",
            code="unsupported_feature",
        )
