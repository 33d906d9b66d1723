"""``/admin/v1/keys``: issue, list, change, revoke and import API keys."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Id, PathParameters, optional, runtime
from quantized.api.routing import Answer, body, operation, path, principal, route
from quantized.services import keys
from quantized.services.actors import actor_of
from quantized.services.durations import DURATION, parse_duration
from quantized.validation import INTEGRAL
from quantized.values import EARLIEST, LATEST, MAX_ID, MAX_LINE, NAME, rfc3339_seconds

PREFIX = "/admin/v1/keys"
FIELDS = {"name", "models", "is_admin", "rpm_limit", "tpm_limit", "team_id", "person"}
"""The request fields that are :class:`~quantized.services.keys.KeyFields` as they are."""
TAGS = ("admin: keys",)


def _moment(value: object) -> object:
    """Unix seconds, or an RFC 3339 date-time as unix seconds."""
    return rfc3339_seconds(value) if isinstance(value, str) else value


Name = Annotated[str, Field(min_length=1, max_length=MAX_LINE, pattern=NAME)]
Expiry = Annotated[
    float,
    Field(ge=EARLIEST, le=LATEST, allow_inf_nan=False),
    BeforeValidator(_moment),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": EARLIEST, "maximum": LATEST},
                {"type": "string", "format": "date-time"},
            ],
            "description": "Unix seconds, or an RFC 3339 date-time",
        }
    ),
]
Limit = Annotated[
    int,
    Field(ge=0, le=1_000_000_000, description="Per minute; 0: no limit; null: the default"),
    INTEGRAL,
]
Pattern = Annotated[str, Field(max_length=MAX_LINE, pattern=r"^\s*[a-z0-9*?\[\]!/._:-]+\s*$")]
Patterns = Annotated[
    list[Pattern],
    Field(max_length=1000, description="Model ids or globs (openai/*); null: every model"),
]
TeamId = Annotated[
    int, Field(ge=1, le=MAX_ID, description="The team it is issued for; null: none"), INTEGRAL
]
Person = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_LINE,
        pattern=NAME,
        description="The person it is issued to (a token subject or an e-mail); null: none",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class KeyCreate(_Body):
    name: Name
    models: Patterns | None = None
    expires_in: Annotated[str, Field(pattern=DURATION, description="30d, 12h, 1w2d…")] | None = None
    is_admin: bool = False
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    team_id: TeamId | None = None
    person: Person | None = None


class KeyChange(_Body):
    """Only the fields given change; ``null`` means every model, never, the default, or
    no team or person."""

    name: Name = optional(description="A new name (not null)")
    models: Patterns | None = None
    expires_at: Expiry | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    team_id: TeamId | None = None
    person: Person | None = None


class KeyImport(_Body):
    name: Name
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
    prefix: Annotated[str, Field(max_length=32, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    models: Patterns | None = None
    expires_at: Expiry | None = None
    is_admin: bool = False
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    team_id: TeamId | None = None
    person: Person | None = None


class KeyPath(PathParameters):
    what = "API key"
    code = "key_not_found"
    key_id: Id


def key_object(key: Any, secret: str | None = None) -> dict[str, Any]:
    data = {"object": "api_key", **keys.public(key)}
    if secret is not None:
        data["secret"] = secret
    return data


@operation(
    "Issue a key; its secret is in this response only",
    tags=TAGS,
    body=KeyCreate,
    responses={201: Answer("Issued", schemas.IssuedApiKey)},
    errors=(404, 409),
)
async def create_key(request: Request) -> Response:
    given = body(request, KeyCreate)
    lifetime = parse_duration(given.expires_in) if given.expires_in is not None else None
    app = runtime(request)
    fields = keys.KeyFields(
        **given.model_dump(include=FIELDS), expires_at=keys.KeyFields.expiry(lifetime)
    )
    issued = await keys.issue_key(app.engine, actor_of(principal(request)), fields)
    await app.refresh()
    return json_response(key_object(issued.key, issued.secret), status=201)


@operation(
    "List keys (never their secrets)",
    tags=TAGS,
    responses={200: Answer("All keys", schemas.ApiKeyList)},
)
async def list_keys(request: Request) -> Response:
    found = await keys.list_keys(runtime(request).engine)
    return json_response({"object": "list", "data": [key_object(k) for k in found]})


@operation("Get a key", tags=TAGS, path=KeyPath, responses={200: Answer("The key", schemas.ApiKey)})
async def get_key(request: Request) -> Response:
    key = await keys.get_key(runtime(request).engine, path(request, KeyPath).key_id)
    return json_response(key_object(key))


@operation(
    "Change a key's name, models (null: all), expiry (null: never), limits, team or person",
    tags=TAGS,
    path=KeyPath,
    body=KeyChange,
    responses={200: Answer("The changed key", schemas.ApiKey)},
    errors=(409,),
)
async def change_key(request: Request) -> Response:
    given = body(request, KeyChange)
    changes = {name: getattr(given, name) for name in given.model_fields_set}
    app = runtime(request)
    key = await keys.update_key(
        app.engine, actor_of(principal(request)), path(request, KeyPath).key_id, changes
    )
    await app.refresh()
    return json_response(key_object(key))


@operation(
    "Revoke a key (running servers reject it within a second)",
    tags=TAGS,
    path=KeyPath,
    responses={200: Answer("The revoked key", schemas.ApiKey)},
)
async def revoke_key(request: Request) -> Response:
    app = runtime(request)
    key = await keys.revoke_key(
        app.engine, actor_of(principal(request)), path(request, KeyPath).key_id
    )
    await app.refresh()
    return json_response(key_object(key))


@operation(
    "Store a key issued elsewhere, by the SHA-256 of its full text",
    tags=TAGS,
    body=KeyImport,
    responses={201: Answer("Imported", schemas.ApiKey)},
    errors=(404, 409),
)
async def import_key(request: Request) -> Response:
    given = body(request, KeyImport)
    app = runtime(request)
    fields = keys.KeyFields(**given.model_dump(include=FIELDS), expires_at=given.expires_at)
    key = await keys.import_key(
        app.engine, actor_of(principal(request)), fields, sha256=given.sha256, prefix=given.prefix
    )
    await app.refresh()
    return json_response(key_object(key), status=201)


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_keys, POST=create_key),
        route(f"{PREFIX}/import", POST=import_key),
        route(f"{PREFIX}/{{key_id}}", GET=get_key, PATCH=change_key, reserved=("import",)),
        route(f"{PREFIX}/{{key_id}}/revoke", POST=revoke_key),
    ]
