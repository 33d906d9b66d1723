"""Checks made before any upstream is called: the model, and what the request asks of it."""

from __future__ import annotations

from quantized.catalog.access import ModelAccess
from quantized.catalog.listing import Catalog
from quantized.catalog.model import Model
from quantized.errors import GoneError, InvalidRequestError, NotFoundError, PermissionDeniedError
from quantized.gateway.request import ChatRequest


def resolve_model(catalog: Catalog, model_id: str, access: ModelAccess) -> Model:
    """The model a request may use, by the listing's rule.

    Unknown or disabled → 404; not allowed for this caller → 403 (the listing does
    not show it either); deprecated → 410.
    """
    model = catalog.get(model_id)
    if model is None or model.status == "disabled":
        raise NotFoundError(
            f"The model '{model_id[:200]}' does not exist; GET /v1/models lists yours.",
            param="model",
            code="model_not_found",
        )
    if not access.allows(model_id):
        raise PermissionDeniedError(
            f"Your credentials may not use the model '{model_id}'.",
            param="model",
            code="model_not_allowed",
        )
    if model.status == "deprecated":
        raise GoneError(
            f"The model '{model_id}' is deprecated and no longer served; "
            "GET /v1/models lists the current ones.",
            param="model",
            code="model_deprecated",
        )
    return model


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
