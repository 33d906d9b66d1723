"""``/admin/v1/keys``: issue, list, change, revoke and import API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import admin, json_object, runtime, validate
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.services import keys
from quantized.services.actors import actor_of
from quantized.services.durations import parse_duration

PREFIX = "/admin/v1/keys"

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Expiry = Annotated[
    float,
    Field(ge=0, le=10**11, description="Unix seconds; an ISO 8601 datetime is accepted too."),
]
Limit = Annotated[
    int, Field(ge=0, le=1_000_000_000, description="Per minute; 0: no limit; null: the default")
]
Patterns = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=1000)]


def _moment(value: object) -> object:
    """Unix seconds, or an ISO 8601 datetime (``Z`` or an offset), as unix seconds."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("use unix seconds or an ISO 8601 datetime") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class KeyCreate(_Body):
    name: Name
    models: Patterns | None = None
    expires_in: Annotated[str, Field(max_length=32)] | None = None
    is_admin: bool = False
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None


class KeyChange(_Body):
    name: Name | None = Field(default=None, description="A new name (not null)")
    models: Patterns | None = None
    expires_at: Expiry | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None

    _at = field_validator("expires_at", mode="before")(_moment)

    @field_validator("name", mode="before")
    @classmethod
    def _name_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("a key's name cannot be null")
        return value


class KeyImport(_Body):
    name: Name
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
    prefix: Annotated[str, Field(max_length=32)] | None = None
    models: Patterns | None = None
    expires_at: Expiry | None = None
    is_admin: bool = False
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None

    _at = field_validator("expires_at", mode="before")(_moment)


def key_object(key: Any, secret: str | None = None) -> dict[str, Any]:
    data = {"object": "api_key", **key.public()}
    if secret is not None:
        data["secret"] = secret
    return data


async def create_key(request: Request) -> Response:
    principal = await admin(request)
    body = validate(KeyCreate, await json_object(request))
    lifetime = parse_duration(body.expires_in) if body.expires_in is not None else None
    app = runtime(request)
    issued = await keys.issue_key(
        app.engine,
        actor_of(principal),
        name=body.name,
        models=body.models,
        expires_in=lifetime,
        is_admin=body.is_admin,
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
    )
    await app.refresh()
    return json_response(key_object(issued.key, issued.secret), status=201)


async def list_keys(request: Request) -> Response:
    await admin(request)
    found = await keys.list_keys(runtime(request).engine)
    return json_response({"object": "list", "data": [key_object(k) for k in found]})


async def get_key(request: Request) -> Response:
    await admin(request)
    key = await keys.get_key(runtime(request).engine, request.path_params["key_id"])
    return json_response(key_object(key))


async def change_key(request: Request) -> Response:
    principal = await admin(request)
    body = validate(KeyChange, await json_object(request))
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    app = runtime(request)
    key = await keys.update_key(
        app.engine, actor_of(principal), request.path_params["key_id"], changes
    )
    await app.refresh()
    return json_response(key_object(key))


async def revoke_key(request: Request) -> Response:
    principal = await admin(request)
    app = runtime(request)
    key = await keys.revoke_key(app.engine, actor_of(principal), request.path_params["key_id"])
    await app.refresh()
    return json_response(key_object(key))


async def import_key(request: Request) -> Response:
    principal = await admin(request)
    body = validate(KeyImport, await json_object(request))
    app = runtime(request)
    key = await keys.import_key(
        app.engine,
        actor_of(principal),
        name=body.name,
        sha256=body.sha256,
        prefix=body.prefix,
        models=body.models,
        expires_at=body.expires_at,
        is_admin=body.is_admin,
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
    )
    await app.refresh()
    return json_response(key_object(key), status=201)


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_keys, POST=create_key),
        route(f"{PREFIX}/import", POST=import_key),
        route(f"{PREFIX}/{{key_id:int}}", GET=get_key, PATCH=change_key),
        route(f"{PREFIX}/{{key_id:int}}/revoke", POST=revoke_key),
    ]
