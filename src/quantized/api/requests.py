"""What the framework routes share: the runtime, the caller, and every input, checked.

Every value a route takes from a path, a query string or a body is checked here,
against the models its operation declares (``quantized.api.routing``), before
the store sees it. The value types below follow ``quantized.values``: integers
are ASCII digits without leading zeros, in the range the database holds (``²``
or ``٣`` pass ``str.isdigit()`` and are refused), text has no control characters
(PostgreSQL cannot store NUL) and a bounded length, days are ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from starlette.requests import Request

from quantized.api.bodies import content_length, read_body
from quantized.auth.principal import Principal
from quantized.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from quantized.payloads import load_object
from quantized.validation import describe, first_problem
from quantized.values import LINE, MAX_ID, MAX_LINE, shown

if TYPE_CHECKING:
    from quantized.runtime import Runtime

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)
_INTEGER = re.compile(r"0|[1-9][0-9]{0,29}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
UNIONS = (typing.Union, types.UnionType)


def _ascii_integer(value: object) -> object:
    if isinstance(value, str):
        if _INTEGER.fullmatch(value) is None:
            raise ValueError("must be an integer in ASCII digits, without leading zeros")
        return int(value)
    return value


def _iso_day(value: object) -> object:
    if isinstance(value, str):
        if _DAY.fullmatch(value) is None:
            raise ValueError("must be a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    return value


ASCII_INTEGER = BeforeValidator(_ascii_integer)
"""Put after the ``Field`` constraints: ``Annotated[int, Field(ge=1), ASCII_INTEGER]``."""
Id = Annotated[int, Field(ge=1, le=MAX_ID), ASCII_INTEGER]
"""An id in a path or a query: 1 to 2³¹−1, what every backend's integer column holds."""
Day = Annotated[dt.date, BeforeValidator(_iso_day)]
Text = Annotated[str, Field(max_length=MAX_LINE, pattern=LINE)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**details: Any) -> Any:
    """A field that may be left out but not given as ``null`` (its schema has no default)."""
    return Field(default=None, json_schema_extra=_no_default, **details)


class Parameters(BaseModel):
    """Query parameters: unknown ones are refused, values are checked as declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PathParameters(BaseModel):
    """Path parameters: a value that fails its check names nothing, so it is a 404."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    what: ClassVar[str] = "resource"
    code: ClassVar[str] = "not_found"


def runtime(request: Request) -> Runtime:
    return request.app.runtime  # type: ignore[no-any-return]


async def caller(request: Request) -> Principal:
    """The authenticated caller (API key or JWT), or a 401."""
    header = request.headers.get("authorization")
    raw = header.encode("latin-1") if header is not None else None
    return await runtime(request).state.auth.resolve(raw)


async def admin(request: Request) -> Principal:
    """The caller, who must be an admin (admin key, or JWT with the admin role), or a 403."""
    principal = await caller(request)
    if not principal.is_admin:
        raise PermissionDeniedError(
            "This endpoint needs an admin API key or a token with the admin role.",
            code="admin_required",
        )
    return principal


async def body_bytes(request: Request, *, allowed: tuple[str, ...] = JSON_TYPES) -> bytearray:
    """The request body, refusing other media types and anything over the size limit."""
    media = request.headers.get("content-type", allowed[0]).split(";")[0].strip().lower()
    if media not in allowed:
        raise InvalidRequestError(
            f"unsupported content type '{shown(media, 100)}'; send {' or '.join(allowed)}",
            code="unsupported_media_type",
        )
    body = await read_body(
        request.receive,
        runtime(request).settings.max_body_bytes,
        declared=content_length(request.scope["headers"]),
        budget=request.app.body_budget,
    )
    data = body.data
    body.release()  # parsed at once; the budget bounds the bodies read concurrently
    return data


async def json_object(request: Request, *, allowed: tuple[str, ...] = JSON_TYPES) -> dict[str, Any]:
    return load_object(await body_bytes(request, allowed=allowed))


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``; the first problem becomes a 400 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where, _ = first_problem(exc)
        raise InvalidRequestError(describe(exc), param=where or None) from None


def _is_list(field: FieldInfo | None) -> bool:
    """Whether a query field takes a list (``list[...]``, or ``list[...] | None``)."""
    if field is None:
        return False
    options = get_args(field.annotation) if get_origin(field.annotation) in UNIONS else ()
    for option in (field.annotation, *options):
        if get_origin(option) is Annotated:
            option = get_args(option)[0]
        if get_origin(option) is list:
            return True
    return False


def query_params(request: Request, model: type[M]) -> M:
    """The query string as ``model``: a 400 names an unknown or repeated parameter.

    A list field takes every value given for it, as ``name=a&name=b`` or, the way
    OpenAI's SDKs send arrays, ``name[]=a&name[]=b``.
    """
    params = request.query_params
    known = model.model_fields
    values: dict[str, Any] = {}
    for name in params:
        listed = name.removesuffix("[]")
        if _is_list(known.get(listed)):
            values.setdefault(listed, []).extend(params.getlist(name))
            continue
        if name not in known:
            hint = f"; use {', '.join(known)}" if known else "; this endpoint takes none"
            raise InvalidRequestError(
                f"unknown query parameter '{shown(name, 50)}'{hint}", param=shown(name, 50)
            )
        if len(params.getlist(name)) > 1:
            raise InvalidRequestError(f"query parameter '{name}' is given twice", param=name)
        values[name] = params[name]
    return validate(model, values)


def path_params(request: Request, model: type[PathParameters]) -> Any:
    """The path parameters as ``model``; anything that fails its check names nothing (404)."""
    raw = request.path_params
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        where, _ = first_problem(exc)
        value = shown(str(raw[where]) if where in raw else "/".join(map(str, raw.values())))
        raise NotFoundError(
            f"no {model.what} {value!r}", param=where or None, code=model.code
        ) from None
