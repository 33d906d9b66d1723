"""``/admin/v1/models``: the whole catalog, including inactive models."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import admin, body_bytes, json_object, runtime
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.catalog.document import model_json
from quantized.catalog.importers import FORMATS, parse_foreign
from quantized.catalog.schema import parse_entry
from quantized.errors import InvalidRequestError
from quantized.services import catalog
from quantized.services.actors import actor_of

PREFIX = "/admin/v1/models"
IMPORT_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")


async def list_models(request: Request) -> Response:
    await admin(request)
    found = await catalog.stored_models(runtime(request).engine)
    return json_response({"object": "list", "data": [model_json(m) for m in found]})


async def create_model(request: Request) -> Response:
    principal = await admin(request)
    model = parse_entry(await json_object(request), now=int(time.time()))
    app = runtime(request)
    await catalog.create_model(app.engine, actor_of(principal), model)
    await app.refresh()
    return json_response(model_json(model), status=201)


async def get_model(request: Request) -> Response:
    await admin(request)
    model = await catalog.get_model(runtime(request).engine, request.path_params["model_id"])
    return json_response(model_json(model))


async def replace_model(request: Request) -> Response:
    principal = await admin(request)
    model_id = request.path_params["model_id"]
    body = await json_object(request)
    if body.setdefault("id", model_id) != model_id:
        raise InvalidRequestError("the body's id must match the path", param="id")
    model = parse_entry(body, now=int(time.time()))
    app = runtime(request)
    created = await catalog.replace_model(app.engine, actor_of(principal), model)
    await app.refresh()
    return json_response(model_json(model), status=201 if created else 200)


async def patch_model(request: Request) -> Response:
    principal = await admin(request)
    patch = await json_object(request)
    app = runtime(request)
    model = await catalog.patch_model(
        app.engine, actor_of(principal), request.path_params["model_id"], patch
    )
    await app.refresh()
    return json_response(model_json(model))


async def delete_model(request: Request) -> Response:
    principal = await admin(request)
    model_id = request.path_params["model_id"]
    app = runtime(request)
    await catalog.delete_model(app.engine, actor_of(principal), model_id)
    await app.refresh()
    return json_response({"id": model_id, "object": "model", "deleted": True})


async def import_models(request: Request) -> Response:
    """Bulk upsert from our format, OpenRouter's or LiteLLM's: all entries or none."""
    principal = await admin(request)
    name = request.query_params.get("format", "quantized")
    if name not in FORMATS:
        raise InvalidRequestError(
            f"unknown format '{name[:50]}'; use one of {', '.join(FORMATS)}", param="format"
        )
    text = await body_bytes(request, allowed=IMPORT_TYPES)
    parsed = parse_foreign(name, bytes(text), now=int(time.time()))
    app = runtime(request)
    result = await catalog.import_models(app.engine, actor_of(principal), parsed.models)
    await app.refresh()
    return json_response(
        {
            "object": "catalog.import",
            "format": name,
            "inserted": result.inserted,
            "updated": result.updated,
            "models": [m.id for m in parsed.models],
            "skipped": [{"name": s.name, "reason": s.reason} for s in parsed.skipped],
        }
    )


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_models, POST=create_model),
        route(f"{PREFIX}/import", POST=import_models),
        route(
            f"{PREFIX}/{{model_id:path}}",
            GET=get_model,
            PUT=replace_model,
            PATCH=patch_model,
            DELETE=delete_model,
        ),
    ]
