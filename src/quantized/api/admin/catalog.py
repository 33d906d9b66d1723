"""``/admin/v1/models``: the whole catalog, including inactive models."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Parameters, PathParameters, body_bytes, optional, runtime
from quantized.api.routing import Answer, body, operation, path, principal, query, route
from quantized.catalog.diff import PlanOptions, globs, pinnable, preview_json
from quantized.catalog.document import model_json
from quantized.catalog.importers import (
    DEFAULT_BEDROCK_REGION,
    WITH_OPTIONS,
    ImportOptions,
    parse_foreign,
)
from quantized.catalog.schema import (
    MAX_ID_LENGTH,
    Aliases,
    Author,
    CatalogEntry,
    ContextLength,
    Created,
    Endpoints,
    Features,
    Line,
    Modalities,
    ModelId,
    Pinned,
    Price,
    PriceSourceEntry,
    ScheduledPrices,
    Slug,
    Text,
    UpstreamEntry,
)
from quantized.errors import ConflictError, InvalidRequestError
from quantized.services import catalog
from quantized.services.actors import actor_of

PREFIX = "/admin/v1/models"
TAGS = ("admin: models",)
IMPORT_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")
MERGE_PATCH = ("application/json", "application/merge-patch+json")


class ModelPath(PathParameters):
    """A model id, ``author/slug``, as two path segments (``%2F`` for the slash works too)."""

    what = "model"
    code = "model_not_found"
    author: Author
    slug: Slug

    @model_validator(mode="after")
    def _fits(self) -> ModelPath:
        if len(self.model_id) > MAX_ID_LENGTH:
            raise ValueError(f"a model id has at most {MAX_ID_LENGTH} characters")
        return self

    @property
    def model_id(self) -> str:
        return f"{self.author}/{self.slug}"


class ModelReplace(CatalogEntry):
    """A whole catalog entry; its id may be left out (it is the path's)."""

    id: ModelId | None = None  # type: ignore[assignment]


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CostPatch(_Patch):
    prompt: Price = optional()
    completion: Price = optional()
    input_cache_read: Price | None = None
    input_cache_write: Price | None = None


class ModelPatch(_Patch):
    """RFC 7386 merge patch of a catalog entry: ``null`` removes an optional field.

    Required fields (``name``, the two prices) cannot be removed, the id cannot change,
    and a price source is given whole (``url`` and ``checked``), so every patch this
    accepts makes a valid entry.
    """

    name: Line = optional()
    aliases: Aliases | None = None
    description: Text | None = None
    created: Created | None = None
    status: Literal["active", "deprecated", "disabled"] | None = None
    input_modalities: Modalities | None = None
    output_modalities: Modalities | None = None
    supported_features: Features | None = None
    endpoints: Endpoints | None = None
    context_length: ContextLength | None = None
    cost: CostPatch = optional()
    price_source: PriceSourceEntry | None = None
    upstreams: list[UpstreamEntry] | None = None
    routing: Literal["ordered", "weighted", "least_inflight", "latency"] | None = None
    scheduled_prices: ScheduledPrices | None = None
    pinned: Pinned | None = None


class ImportQuery(Parameters):
    format: Annotated[
        Literal["quantized", "openrouter", "litellm"],
        Field(
            description="quantized: {models: [...]} (JSON or YAML); openrouter: the "
            "GET /api/v1/models response; litellm: model_prices_and_context_window.json"
        ),
    ] = "quantized"
    dry_run: Annotated[
        bool,
        Field(
            description="true: check the document exactly as an import would and answer what "
            "it would add and change (field by field), writing nothing"
        ),
    ] = False
    azure_endpoint: Annotated[
        str | None,
        Field(
            max_length=2048,
            description="litellm only: the Azure OpenAI resource (https://NAME.openai.azure."
            "com, or .../openai/v1) Azure's entries are served by, each model by a deployment "
            "of its name (without it they get no upstream)",
        ),
    ] = None
    azure_api_version: Annotated[
        str | None,
        Field(
            max_length=64,
            description="litellm only: that resource's api-version (such as 2024-10-21; "
            "required unless the endpoint ends in /openai/v1)",
        ),
    ] = None
    bedrock_region: Annotated[
        str | None,
        Field(
            max_length=64,
            description=f"litellm only: the AWS region of Bedrock entries whose key names "
            f"none (default {DEFAULT_BEDROCK_REGION})",
        ),
    ] = None

    only: Annotated[
        str | None,
        Field(
            max_length=400,
            pattern=r"^[a-z_., ]*$",
            description="Only these fields of stored models change, comma-separated (cost "
            "stands for its four prices): such as cost, or cost.prompt,context_length; "
            "models not stored yet are skipped",
        ),
    ] = None
    models: Annotated[
        str | None,
        Field(
            max_length=1000,
            pattern=r"^[a-z0-9._:/*?\[\]!, -]*$",
            description="Only models whose id matches one of these globs, comma-separated "
            "(such as openai/*,anthropic/*), are added, changed or removed",
        ),
    ] = None
    missing: Annotated[
        Literal["keep", "deprecate", "delete"],
        Field(
            description="What becomes of stored models (of the models selection) the "
            "document does not list: keep them, deprecate them or delete them"
        ),
    ] = "keep"

    @field_validator("only")
    @classmethod
    def _fields(cls, value: str | None) -> str | None:
        return None if value is None else ",".join(_checked(pinnable, [value], "only"))

    @field_validator("models")
    @classmethod
    def _globs(cls, value: str | None) -> str | None:
        return None if value is None else ",".join(_checked(globs, [value], "models"))

    @property
    def plan(self) -> PlanOptions:
        only = tuple(self.only.split(",")) if self.only else ()
        models = tuple(self.models.split(",")) if self.models else ()
        return PlanOptions(only, models, self.missing)

    @model_validator(mode="after")
    def _options_fit(self) -> ImportQuery:
        given = self.options.given  # a bad option is a ValueError: a 400
        if given and self.format not in WITH_OPTIONS:
            raise ValueError(
                "azure_endpoint, azure_api_version and bedrock_region are for format=litellm only"
            )
        return self

    @property
    def options(self) -> ImportOptions:
        """The import options (checked: a bad one is a ``ValueError``)."""
        return ImportOptions(self.azure_endpoint, self.azure_api_version, self.bedrock_region)


def _checked(
    check: Callable[[list[str], str], tuple[str, ...]], value: list[str], name: str
) -> tuple[str, ...]:
    try:
        return check(value, name)
    except InvalidRequestError as exc:  # a 400 naming the parameter
        raise ValueError(exc.message.removeprefix(f"{name}: ")) from None


class FieldDiff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old: Any = Field(description="The stored value (null: none)")
    new: Any = Field(description="The imported value (null: none)")
    relative: float | None = optional(
        description="Prices (cost.*) only: (new - old) / old; null when old is 0 or none"
    )


class ChangedModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    fields: dict[str, FieldDiff] = Field(
        description="By field, nested ones dotted (cost.prompt, price_source.url); "
        "lists (aliases, upstreams, scheduled_prices) whole"
    )


class RemovedModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    status: Literal["active", "deprecated", "disabled"] = Field(description="Its status now")
    action: Literal["keep", "deprecate", "delete"] = Field(
        description="What the import does with it (the missing parameter)"
    )
    note: str | None = Field(
        description="Why a model is kept although missing=deprecate (already deprecated, "
        "status is pinned)"
    )


class ImportPreview(BaseModel):
    """What an import would do (``dry_run=true``): nothing is written."""

    model_config = ConfigDict(extra="forbid")

    object: Literal["catalog.import_preview"]
    format: Literal["quantized", "openrouter", "litellm"]
    dry_run: Literal[True]
    added: list[str]
    changed: list[ChangedModel]
    pinned: list[ChangedModel] = Field(
        description="Fields the document would change that the model's pins keep (old: "
        "stored, new: the document's)"
    )
    removed: list[RemovedModel] = Field(
        description="Stored models (of the models selection) the document does not list"
    )
    unchanged: list[str]
    skipped: list[schemas.SkippedEntry] = Field(
        description="Entries left out, with the reason (the importer's, and models only= "
        "cannot add)"
    )
    aliases_skipped: list[schemas.SkippedEntry]


@operation(
    "List every stored model, inactive ones included",
    tags=TAGS,
    responses={200: Answer("All models", schemas.AdminModelList)},
)
async def list_models(request: Request) -> Response:
    found = await catalog.stored_models(runtime(request).engine)
    return json_response({"object": "list", "data": [model_json(m) for m in found]})


@operation(
    "Create a model",
    tags=TAGS,
    body=CatalogEntry,
    responses={201: Answer("Created", schemas.AdminModel)},
    errors=(409,),
)
async def create_model(request: Request) -> Response:
    model = body(request, CatalogEntry).to_model(int(time.time()))
    app = runtime(request)
    await catalog.create_model(app.engine, actor_of(principal(request)), model)
    await app.refresh()
    return json_response(model_json(model), status=201)


@operation(
    "Get a stored model",
    tags=TAGS,
    path=ModelPath,
    responses={200: Answer("The model", schemas.AdminModel)},
)
async def get_model(request: Request) -> Response:
    model = await catalog.get_model(runtime(request).engine, path(request, ModelPath).model_id)
    return json_response(model_json(model))


@operation(
    "Create or replace a model",
    description="The body's id may be left out; one that names another model is a 409.",
    tags=TAGS,
    path=ModelPath,
    body=ModelReplace,
    responses={
        200: Answer("Replaced", schemas.AdminModel),
        201: Answer("Created", schemas.AdminModel),
    },
    errors=(409,),
)
async def replace_model(request: Request) -> Response:
    model_id = path(request, ModelPath).model_id
    given = body(request, ModelReplace)
    if given.id not in (None, model_id):
        raise ConflictError(
            f"the body's id {given.id!r} is not the path's {model_id!r}", param="id"
        )
    model = given.model_copy(update={"id": model_id}).to_model(int(time.time()))
    app = runtime(request)
    created = await catalog.replace_model(app.engine, actor_of(principal(request)), model)
    await app.refresh()
    return json_response(model_json(model), status=201 if created else 200)


@operation(
    "Change some fields (RFC 7386 JSON merge patch; null removes an optional field)",
    tags=TAGS,
    path=ModelPath,
    body=ModelPatch,
    body_media=MERGE_PATCH,
    responses={200: Answer("The changed model", schemas.AdminModel)},
    errors=(409,),
)
async def patch_model(request: Request) -> Response:
    patch = body(request, ModelPatch).model_dump(mode="json", exclude_unset=True)
    app = runtime(request)
    model = await catalog.patch_model(
        app.engine, actor_of(principal(request)), path(request, ModelPath).model_id, patch
    )
    await app.refresh()
    return json_response(model_json(model))


@operation(
    "Delete a model",
    tags=TAGS,
    path=ModelPath,
    responses={200: Answer("Deleted", schemas.DeletedModel)},
)
async def delete_model(request: Request) -> Response:
    model_id = path(request, ModelPath).model_id
    app = runtime(request)
    await catalog.delete_model(app.engine, actor_of(principal(request)), model_id)
    await app.refresh()
    return json_response({"id": model_id, "object": "model", "deleted": True})


@operation(
    "Insert or update many models at once: all of them or none",
    description="The body is a document in the format the `format` parameter names. An "
    "alias a foreign catalog suggests that another model already has is left out and "
    "reported in `aliases_skipped`; in our format such a clash is a 409. With "
    "`dry_run=true` the document is checked the same way (the same errors) and the answer "
    "says what would be added, changed (field: old and new) and left unchanged; nothing "
    "is written or audited.",
    tags=TAGS,
    query=ImportQuery,
    body={
        "type": ["object", "array"],
        "description": "A document in the chosen format (ours may be a bare list of entries)",
    },
    body_media=IMPORT_TYPES,
    responses={
        200: Answer(
            "Imported (with dry_run, what would change)",
            {"oneOf": [schemas.ImportResult, ImportPreview]},
        )
    },
    errors=(409,),
)
async def import_models(request: Request) -> Response:
    """Bulk upsert from our format, OpenRouter's or LiteLLM's: all entries or none."""
    given = query(request, ImportQuery)
    name = given.format
    text = await body_bytes(request, allowed=IMPORT_TYPES)
    now = int(time.time())
    parsed = parse_foreign(name, bytes(text), now=now, options=given.options)
    app = runtime(request)
    foreign = name != "quantized"
    if given.dry_run:
        preview = await catalog.preview_import(
            app.engine,
            parsed.models,
            drop_clashing=foreign,
            options=given.plan,
            skipped=parsed.skipped,
            parsed_at=now,
        )
        dropped = (*parsed.dropped_aliases, *preview.dropped_aliases)
        return json_response(preview_json(preview.plan, format=name, dropped=dropped))
    result = await catalog.import_models(
        app.engine,
        actor_of(principal(request)),
        parsed.models,
        drop_clashing=foreign,
        options=given.plan,
        skipped=parsed.skipped,
        parsed_at=now,
    )
    await app.refresh()
    return json_response(
        {
            "object": "catalog.import",
            "format": name,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "removed": result.removed,
            "deprecated": result.deprecated,
            "deleted": result.deleted,
            "models": list(result.models),
            "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
            "aliases_skipped": [
                {"name": c.alias, "reason": c.describe()}
                for c in (*parsed.dropped_aliases, *result.dropped_aliases)
            ],
        }
    )


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_models, POST=create_model),
        route(f"{PREFIX}/import", POST=import_models),
        route(
            f"{PREFIX}/{{author}}/{{slug}}",
            GET=get_model,
            PUT=replace_model,
            PATCH=patch_model,
            DELETE=delete_model,
        ),
    ]
