"""``/openapi.json`` and ``/docs``: every public and admin endpoint, described exactly.

Schemas come from the pydantic models the server validates with (requests) and
describes its JSON with (responses); paths are written out here. The document is
built once per process.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.admin.keys import KeyChange, KeyCreate, KeyImport
from quantized.api.routing import route
from quantized.catalog.model import FEATURES, MODALITIES
from quantized.catalog.schema import CatalogEntry

REF = "#/components/schemas/{model}"
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

DESCRIPTION = """\
Quantized is an OpenAI-compatible LLM API gateway.

**Authentication**: `Authorization: Bearer <api-key-or-jwt>`. API keys look like
`sk-quantized-…`; a JWT from a trusted issuer is accepted in the same header.

**Two listing shapes**: `GET /v1/models` answers with the documented JSON array of
models. Requests from official OpenAI SDKs (they send `X-Stainless-Lang`, or a
`User-Agent` starting with `OpenAI/`) get `{"object": "list", "data": [...]}`
instead, each model also carrying `object`, `created` and `owned_by`, because the
SDKs cannot parse a bare array.

**Errors** use OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
"""


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Invalid request (the error's param names the field)",
        401: "Missing, malformed, unknown, revoked or expired credential",
        403: "The caller is not an admin",
        404: "Not found",
        409: "Already exists",
        410: "The model is deprecated",
        429: "Over a budget, or the upstream's rate limit",
        502: "The upstream failed or is unreachable",
        504: "The upstream did not answer in time",
        413: "Request body too large",
        414: "Request URL too long",
        503: "A JWT issuer's signing keys are unavailable",
    }
    return {str(s): _json(_ref(schemas.Error), reasons[s]) for s in statuses}


_ADMIN_ERRORS = (400, 401, 403, 414, 503)


def _body(model: type[BaseModel] | dict[str, Any], *media: str) -> dict[str, Any]:
    schema = _ref(model) if isinstance(model, type) else model
    return {
        "required": True,
        "content": {m: {"schema": schema} for m in media or ("application/json",)},
    }


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


_MODEL_ID = _param(
    "model_id", "path", {"type": "string"}, "author/slug; the slash may be raw or %2F"
)
_KEY_ID = _param("key_id", "path", {"type": "integer", "minimum": 0}, "The key's id")
_LIST = {"type": "string", "description": "one value or a comma-separated list"}
_USAGE_RANGE = [
    _param("start", "query", {"type": "string", "format": "date"}, "First day (default: the 1st)"),
    _param("end", "query", {"type": "string", "format": "date"}, "Last day (default: today)"),
    _param("model", "query", {"type": "string"}, "Only this model"),
]


def _paths() -> dict[str, Any]:
    listing_shapes = {
        "oneOf": [
            {"type": "array", "items": _ref(schemas.PublicModel)},
            _ref(schemas.SdkModelList),
        ]
    }
    item_shapes = {"oneOf": [_ref(schemas.SdkModel), _ref(schemas.PublicModel)]}
    sdk_header = _param(
        "X-Stainless-Lang",
        "header",
        {"type": "string"},
        "Sent by official OpenAI SDKs: selects the envelope shape",
    )
    return {
        "/v1/models": {
            "get": {
                "summary": "List the models the caller may use",
                "tags": ["models"],
                "parameters": [
                    sdk_header,
                    _param("author", "query", _LIST, "Only models by these authors"),
                    _param(
                        "input_modality",
                        "query",
                        _LIST,
                        f"Models taking any of these inputs: {', '.join(MODALITIES)}",
                    ),
                    _param(
                        "output_modality",
                        "query",
                        _LIST,
                        f"Models producing any of these outputs: {', '.join(MODALITIES)}",
                    ),
                    _param(
                        "supported_features",
                        "query",
                        _LIST,
                        f"Models with all of these features: {', '.join(FEATURES)}",
                    ),
                ],
                "responses": {
                    "200": _json(listing_shapes, "The documented array, or the SDK envelope"),
                    "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                    **_errors(400, 401, 414, 503),
                },
            }
        },
        "/v1/models/{model_id}": {
            "get": {
                "summary": "Retrieve one model",
                "tags": ["models"],
                "parameters": [_MODEL_ID, sdk_header],
                "responses": {
                    "200": _json(item_shapes, "The model (SDK requests get the SDK fields too)"),
                    "304": {"description": "Not modified"},
                    **_errors(400, 401, 404, 410, 414, 503),
                },
            }
        },
        "/v1/chat/completions": {
            "post": {
                "summary": "Create a chat completion, routed to the model's upstream",
                "tags": ["chat"],
                "requestBody": _body(schemas.ChatRequestBody),
                "responses": {
                    "200": {
                        "description": "The completion; with stream=true, server-sent events "
                        "of chat.completion.chunk objects ending with data: [DONE]",
                        "content": {
                            "application/json": {"schema": _ref(schemas.ChatCompletion)},
                            "text/event-stream": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 404, 410, 413, 429, 502, 503, 504),
                },
            }
        },
        "/v1/usage": {
            "get": {
                "summary": "The caller's own spend, by day and model",
                "tags": ["usage"],
                "parameters": _USAGE_RANGE,
                "responses": {
                    "200": _json(_ref(schemas.UsageSummary), "Spend"),
                    **_errors(400, 401, 503),
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: catalog loaded, database and Redis reachable",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": _json(_ref(schemas.Readiness), "Ready"),
                    "503": _json(_ref(schemas.Readiness), "Not ready: the body says why"),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "tags": ["health"],
                "security": [],
                "responses": {"200": _json(_ref(schemas.Health), "The process is serving")},
            }
        },
        "/admin/v1/models": {
            "get": {
                "summary": "List every stored model, inactive ones included",
                "tags": ["admin: models"],
                "responses": {
                    "200": _json(_ref(schemas.AdminModelList), "All models"),
                    **_errors(*_ADMIN_ERRORS),
                },
            },
            "post": {
                "summary": "Create a model",
                "tags": ["admin: models"],
                "requestBody": _body(CatalogEntry),
                "responses": {
                    "201": _json(_ref(schemas.AdminModel), "Created"),
                    **_errors(*_ADMIN_ERRORS, 409, 413),
                },
            },
        },
        "/admin/v1/models/import": {
            "post": {
                "summary": "Insert or update many models at once: all of them or none",
                "tags": ["admin: models"],
                "parameters": [
                    _param(
                        "format",
                        "query",
                        {
                            "type": "string",
                            "enum": ["quantized", "openrouter", "litellm"],
                            "default": "quantized",
                        },
                        "quantized: {models: [...]} (JSON or YAML); openrouter: the "
                        "GET /api/v1/models response; litellm: model_prices_and_context_"
                        "window.json",
                    ),
                ],
                "requestBody": _body({"type": "object"}, "application/json", "application/yaml"),
                "responses": {
                    "200": _json(_ref(schemas.ImportResult), "Imported"),
                    **_errors(*_ADMIN_ERRORS, 413),
                },
            }
        },
        "/admin/v1/models/{model_id}": {
            "parameters": [_MODEL_ID],
            "get": {
                "summary": "Get a stored model",
                "tags": ["admin: models"],
                "responses": {
                    "200": _json(_ref(schemas.AdminModel), "The model"),
                    **_errors(*_ADMIN_ERRORS, 404),
                },
            },
            "put": {
                "summary": "Create or replace a model (the body's id may be omitted)",
                "tags": ["admin: models"],
                "requestBody": _body(CatalogEntry),
                "responses": {
                    "200": _json(_ref(schemas.AdminModel), "Replaced"),
                    "201": _json(_ref(schemas.AdminModel), "Created"),
                    **_errors(*_ADMIN_ERRORS, 404, 413),
                },
            },
            "patch": {
                "summary": "Change some fields (RFC 7386 JSON merge patch; null removes)",
                "tags": ["admin: models"],
                "requestBody": _body(
                    {"type": "object"}, "application/json", "application/merge-patch+json"
                ),
                "responses": {
                    "200": _json(_ref(schemas.AdminModel), "The changed model"),
                    **_errors(*_ADMIN_ERRORS, 404, 413),
                },
            },
            "delete": {
                "summary": "Delete a model",
                "tags": ["admin: models"],
                "responses": {
                    "200": _json(_ref(schemas.DeletedModel), "Deleted"),
                    **_errors(*_ADMIN_ERRORS, 404),
                },
            },
        },
        "/admin/v1/keys": {
            "get": {
                "summary": "List keys (never their secrets)",
                "tags": ["admin: keys"],
                "responses": {
                    "200": _json(_ref(schemas.ApiKeyList), "All keys"),
                    **_errors(*_ADMIN_ERRORS),
                },
            },
            "post": {
                "summary": "Issue a key; its secret is in this response only",
                "tags": ["admin: keys"],
                "requestBody": _body(KeyCreate),
                "responses": {
                    "201": _json(_ref(schemas.IssuedApiKey), "Issued"),
                    **_errors(*_ADMIN_ERRORS, 409, 413),
                },
            },
        },
        "/admin/v1/keys/import": {
            "post": {
                "summary": "Store a key issued elsewhere, by the SHA-256 of its full text",
                "tags": ["admin: keys"],
                "requestBody": _body(KeyImport),
                "responses": {
                    "201": _json(_ref(schemas.ApiKey), "Imported"),
                    **_errors(*_ADMIN_ERRORS, 409, 413),
                },
            }
        },
        "/admin/v1/keys/{key_id}": {
            "parameters": [_KEY_ID],
            "get": {
                "summary": "Get a key",
                "tags": ["admin: keys"],
                "responses": {
                    "200": _json(_ref(schemas.ApiKey), "The key"),
                    **_errors(*_ADMIN_ERRORS, 404),
                },
            },
            "patch": {
                "summary": "Change a key's name, models (null: all) or expiry (null: never)",
                "tags": ["admin: keys"],
                "requestBody": _body(KeyChange),
                "responses": {
                    "200": _json(_ref(schemas.ApiKey), "The changed key"),
                    **_errors(*_ADMIN_ERRORS, 404, 413),
                },
            },
        },
        "/admin/v1/keys/{key_id}/revoke": {
            "parameters": [_KEY_ID],
            "post": {
                "summary": "Revoke a key (running servers reject it within a second)",
                "tags": ["admin: keys"],
                "responses": {
                    "200": _json(_ref(schemas.ApiKey), "The revoked key"),
                    **_errors(*_ADMIN_ERRORS, 404),
                },
            },
        },
        "/admin/v1/usage": {
            "get": {
                "summary": "Everyone's spend, by day, caller and model",
                "tags": ["admin: usage"],
                "parameters": [
                    *_USAGE_RANGE,
                    _param("caller", "query", {"type": "string"}, "Only key:<id> or jwt:<subject>"),
                ],
                "responses": {
                    "200": _json(_ref(schemas.UsageSummary), "Spend"),
                    **_errors(*_ADMIN_ERRORS),
                },
            }
        },
        "/admin/v1/budgets": {
            "get": {
                "summary": "Spending limits, with this period's spend",
                "tags": ["admin: usage"],
                "responses": {
                    "200": _json(_ref(schemas.BudgetList), "Budgets"),
                    **_errors(*_ADMIN_ERRORS),
                },
            }
        },
        "/admin/v1/budgets/{kind}/{subject}": {
            "parameters": [
                _param(
                    "kind",
                    "path",
                    {"type": "string", "enum": ["key", "jwt"]},
                    "key (an API key id) or jwt (a token subject)",
                ),
                _param("subject", "path", {"type": "string"}, "The key id or the subject"),
            ],
            "put": {
                "summary": "Set a caller's daily and monthly limits in USD (null: no limit)",
                "tags": ["admin: usage"],
                "requestBody": _body(schemas.BudgetIn),
                "responses": {
                    "200": _json(_ref(schemas.BudgetOut), "The budget"),
                    **_errors(*_ADMIN_ERRORS, 404, 413),
                },
            },
            "delete": {
                "summary": "Remove a caller's limits",
                "tags": ["admin: usage"],
                "responses": {
                    "200": _json(_ref(schemas.BudgetDeleted), "Removed"),
                    **_errors(*_ADMIN_ERRORS, 404),
                },
            },
        },
        "/admin/v1/audit": {
            "get": {
                "summary": "Administrative changes, newest first",
                "tags": ["admin: audit"],
                "parameters": [
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        "Entries per page",
                    ),
                    _param(
                        "before",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 2**62},
                        "Entries older than this id",
                    ),
                    _param(
                        "entity",
                        "query",
                        {"type": "string", "enum": ["model", "key", "budget"]},
                        "Only changes to models, or to keys",
                    ),
                    _param("entity_id", "query", {"type": "string"}, "Only this model or key"),
                    _param("actor", "query", {"type": "string"}, "Only changes by this actor id"),
                ],
                "responses": {
                    "200": _json(_ref(schemas.AuditList), "A page of entries"),
                    **_errors(*_ADMIN_ERRORS),
                },
            }
        },
    }


def _component_schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    models: list[type[BaseModel]] = [
        CatalogEntry,
        KeyCreate,
        KeyChange,
        KeyImport,
        schemas.Error,
        schemas.PublicModel,
        schemas.SdkModel,
        schemas.SdkModelList,
        schemas.Health,
        schemas.AdminModel,
        schemas.AdminModelList,
        schemas.DeletedModel,
        schemas.ImportResult,
        schemas.ApiKey,
        schemas.IssuedApiKey,
        schemas.ApiKeyList,
        schemas.AuditList,
    ]
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


@cache
def document(version: str) -> bytes:
    return orjson.dumps(
        {
            "openapi": "3.1.0",
            "info": {"title": "Quantized", "version": version, "description": DESCRIPTION},
            "security": _BEARER,
            "paths": _paths(),
            "components": {
                "schemas": _component_schemas(),
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "API key (sk-quantized-…) or JWT",
                    }
                },
            },
        }
    )


def _version() -> str:
    from importlib.metadata import version

    return version("quantized")


async def openapi_json(_request: Request) -> Response:
    return Response(document(_version()), media_type="application/json")


DOCS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Quantized API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>"""


async def docs(_request: Request) -> Response:
    return HTMLResponse(DOCS)


def routes() -> list[BaseRoute]:
    return [route("/openapi.json", GET=openapi_json), route("/docs", GET=docs)]
