"""``/openapi.json`` and ``/docs``: the OpenAPI document, built from the routes' declarations.

Nothing here describes an endpoint by hand. :class:`Document` walks the
operations the framework routes declare (``quantized.api.routing``) and those
of the raw routes (``/v1/models``, ``/v1/chat/completions``), and turns their
models into paths, parameters and components with pydantic's JSON schema
generator: the models the server validates with are the document's schemas.
It is built once per process, at the first request for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.metadata import version
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.routing import (
    Answer,
    Declared,
    DeclaredRoute,
    Operation,
    Schema,
    operation,
    route,
)
from quantized.payloads import JSON_VALUE_SCHEMA

REF = "#/components/schemas/{model}"
Pair = tuple[type[BaseModel], JsonSchemaMode]

DESCRIPTION = """\
Quantized is an OpenAI-compatible LLM API gateway.

**Authentication**: `Authorization: Bearer <api-key-or-jwt>`. API keys look like
`sk-quantized-…`; a JWT from a trusted issuer is accepted in the same header.

**Three listing shapes**: `GET /v1/models` answers with the documented JSON array of
models. Requests from official OpenAI SDKs (they send `X-Stainless-Lang`, or a
`User-Agent` starting with `OpenAI/`) get `{"object": "list", "data": [...]}`
instead, each model also carrying `object`, `created` and `owned_by`, because the
SDKs cannot parse a bare array. Requests with an `anthropic-version` header get
Anthropic's shape, paged by cursor, with its errors (see the operation); the models
routes also take the key as `x-api-key: <key>`.

**Errors** use OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
An unknown query parameter is a 400 naming it. Besides the statuses each operation
lists, any request may get 400 (malformed HTTP), 413 (a body over the limit), 414
(a URL over 8 KiB), 431 (headers over the limits) or 503 (the server is at its
connection limit) from the HTTP layer.
"""

REASONS = {
    400: "Invalid request (the error's param names the field)",
    401: "Missing, malformed, unknown, revoked or expired credential",
    403: "The caller may not do this (admin_required: not an admin)",
    404: "Not found (or, for a path parameter, nothing it could name)",
    409: "Already exists, or conflicts with the target",
    410: "The model is deprecated",
    413: "Request body too large",
    429: "Over a budget or a rate limit, or the upstream's rate limit",
    502: "The upstream failed or is unreachable",
    503: "A dependency (database, JWT issuer keys, upstream key) is unavailable",
    504: "The upstream did not answer in time",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_TEXT = ("text/event-stream", "text/csv")
"""Media types answered as text whatever the answer's (JSON) schema."""


def declared(routes: Iterable[BaseRoute], raw: Iterable[Declared]) -> Iterator[Declared]:
    """Every documented operation: the framework routes' (``HEAD`` is implied by ``GET``)
    and the raw routes'."""
    for framework in routes:
        if isinstance(framework, DeclaredRoute):
            for method, found in framework.operations.items():
                if method in METHODS:
                    yield Declared(framework.path_format, method, found)
    yield from raw


def _walk(schema: Any, found: list[Pair], mode: JsonSchemaMode) -> None:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        found.append((schema, mode))
    elif isinstance(schema, Mapping):
        for value in schema.values():
            _walk(value, found, mode)
    elif isinstance(schema, list | tuple):
        for value in schema:
            _walk(value, found, mode)


def _models(operations: Sequence[Declared]) -> list[Pair]:
    found: list[Pair] = [(schemas.Error, "serialization")]
    for entry in operations:
        _walk(entry.operation.body, found, "validation")
        _walk(entry.operation.error_schema, found, "serialization")
        for answer in entry.operation.responses.values():
            _walk(answer.schema, found, "serialization")
    return list(dict.fromkeys(found))


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is never JSON null: an absent parameter takes its default."""
    options = schema.get("anyOf")
    if options is not None:
        kept = [option for option in options if option != {"type": "null"}]
        schema = {k: v for k, v in schema.items() if k != "anyOf"}
        schema.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
    if schema.get("default", 0) is None:
        del schema["default"]
    schema.pop("title", None)
    return schema


class Document:
    """The OpenAPI 3.1 document of one application, rendered once."""

    def __init__(self, routes: Sequence[BaseRoute], raw: Sequence[Declared]) -> None:
        self._routes = routes
        self._raw = raw
        self._rendered: bytes | None = None

    def operations(self) -> list[Declared]:
        return list(declared(self._routes, self._raw))

    def render(self) -> bytes:
        if self._rendered is None:
            self._rendered = orjson.dumps(self.build())
        return self._rendered

    def build(self) -> dict[str, Any]:
        operations = self.operations()
        refs, top = models_json_schema(_models(operations), ref_template=REF)
        builder = _Builder(refs, {**top.get("$defs", {}), "JsonValue": JSON_VALUE_SCHEMA})
        paths: dict[str, dict[str, Any]] = {}
        for entry in operations:
            paths.setdefault(entry.path, {})[entry.method.lower()] = builder.operation(
                entry.operation
            )
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "Quantized",
                "version": version("quantized"),
                "description": DESCRIPTION,
            },
            "security": [{"bearer": []}],
            "paths": paths,
            "components": {
                "schemas": builder.components,
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "API key (sk-quantized-…) or JWT",
                    }
                },
            },
        }


class _Builder:
    """Operations as OpenAPI objects, given the references pydantic assigned to the models."""

    def __init__(self, refs: Mapping[Any, Any], components: dict[str, Any]) -> None:
        self._refs = refs
        self.components = components

    def _schema(self, schema: Any, mode: JsonSchemaMode) -> Any:
        """A raw schema with the models in it replaced by references."""
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return self._refs[(schema, mode)]
        if isinstance(schema, Mapping):
            return {key: self._schema(value, mode) for key, value in schema.items()}
        if isinstance(schema, list | tuple):
            return [self._schema(value, mode) for value in schema]
        return schema

    def _parameters(
        self, model: type[BaseModel] | None, where: Literal["query", "path"]
    ) -> list[dict[str, Any]]:
        if model is None:
            return []
        schema = model.model_json_schema(ref_template=REF)
        self.components.update(schema.get("$defs", {}))
        required = set(schema.get("required", ()))
        found = []
        for name, value in schema.get("properties", {}).items():
            value = _parameter_schema(dict(value))
            parameter = {"name": name, "in": where, "required": where == "path" or name in required}
            if "description" in value:
                parameter["description"] = value.pop("description")
            found.append({**parameter, "schema": value})
        return found

    def _answer(self, answer: Answer) -> dict[str, Any]:
        if answer.schema is None:
            return {"description": answer.description}
        schema = self._schema(answer.schema, "serialization")
        content = {
            media: {"schema": {"type": "string"} if media in _TEXT else schema}
            for media in answer.media_types
        }
        return {"description": answer.description, "content": content}

    def operation(self, declared: Operation) -> dict[str, Any]:
        error_schema = declared.error_schema or schemas.Error
        error = {"application/json": {"schema": self._refs[(error_schema, "serialization")]}}
        found: dict[str, Any] = {"summary": declared.summary, "tags": list(declared.tags)}
        if declared.description:
            found["description"] = declared.description
        if declared.security == "public":
            found["security"] = []
        parameters = [
            *self._parameters(declared.path, "path"),
            *self._parameters(declared.query, "query"),
            *(
                {"name": h.name, "in": "header", "description": h.description, "schema": h.schema}
                for h in declared.headers
            ),
        ]
        if parameters:
            found["parameters"] = parameters
        if declared.body is not None:
            body: Schema = self._schema(declared.body, "validation")
            found["requestBody"] = {
                "required": True,
                "content": {media: {"schema": body} for media in declared.body_media},
            }
        responses = {str(s): self._answer(a) for s, a in sorted(declared.responses.items())}
        for status in declared.error_statuses():
            responses[str(status)] = {"description": REASONS[status], "content": error}
        found["responses"] = responses
        return found


@operation(
    "This OpenAPI document",
    tags=("docs",),
    security="public",
    responses={200: Answer("OpenAPI 3.1", {"type": "object"})},
)
async def openapi_json(request: Request) -> Response:
    return Response(request.app.document.render(), media_type="application/json")


DOCS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Quantized API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>"""


@operation(
    "Interactive documentation (Swagger UI)",
    tags=("docs",),
    security="public",
    responses={200: Answer("An HTML page", {"type": "string"}, media_types=("text/html",))},
)
async def docs(_request: Request) -> Response:
    return HTMLResponse(DOCS)


def routes() -> list[BaseRoute]:
    return [route("/openapi.json", GET=openapi_json), route("/docs", GET=docs)]
