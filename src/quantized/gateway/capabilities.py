"""Checks made before any upstream is called: what the request asks of the model."""

from __future__ import annotations

from quantized.catalog.model import Model
from quantized.errors import InvalidRequestError
from quantized.gateway.surfaces.base import ModelRequest


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
