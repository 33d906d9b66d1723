"""What the framework routes share: the runtime, the caller, bodies and parameters, checked.

Every value a route takes from a path, a query string or a body is checked here
before the store sees it: numbers are ASCII digits in the range the database
holds (``²`` or ``٣`` pass ``str.isdigit()`` and are refused here), text has no
control characters (PostgreSQL cannot store NUL) and a bounded length.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from quantized.api.bodies import content_length, read_body
from quantized.auth.principal import Principal
from quantized.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from quantized.payloads import load_object
from quantized.validation import describe, first_problem

if TYPE_CHECKING:
    from quantized.runtime import Runtime

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json", "application/merge-patch+json")
MAX_ID = 2**31 - 1
"""The largest id the store's integer keys hold, on every backend."""
MAX_TEXT = 200
_DIGITS = re.compile(r"[0-9]{1,10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in allowed:
        raise InvalidRequestError(
            f"unsupported content type '{media[:100]}'; send {' or '.join(allowed)}",
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


async def json_object(request: Request) -> dict[str, Any]:
    return load_object(await body_bytes(request))


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``; the first problem becomes a 400 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where, _ = first_problem(exc)
        raise InvalidRequestError(describe(exc), param=where or None) from None


def number(raw: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``raw`` as an integer in ``[low, high]`` if it is one written in ASCII digits."""
    if _DIGITS.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = number(raw, low=low, high=high)
    if value is None:
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}", param=name)
    return value


def text(value: str, name: str, *, limit: int = MAX_TEXT) -> str:
    """A text parameter: at most ``limit`` characters, no control characters."""
    if len(value) > limit or _CONTROL.search(value):
        raise InvalidRequestError(
            f"{name} must be at most {limit} characters, without control characters",
            param=name,
        )
    return value


def query_text(request: Request, name: str, *, limit: int = MAX_TEXT) -> str | None:
    raw = request.query_params.get(name)
    return None if raw is None else text(raw, name, limit=limit)


def path_id(request: Request, name: str, *, what: str, code: str) -> int:
    """A numeric id in the path; anything else names nothing (404)."""
    raw = request.path_params[name]
    value = number(raw)
    if value is None:
        shown = _CONTROL.sub("?", raw[:40]) + ("…" if len(raw) > 40 else "")
        raise NotFoundError(f"no {what} with id {shown!r}", param="id", code=code)
    return value


def reject_unknown(params: Mapping[str, str], known: tuple[str, ...]) -> None:
    """A 400 naming the first query parameter that is not in ``known``."""
    for name in params:
        if name not in known:
            shown = _CONTROL.sub("?", name[:50])
            raise InvalidRequestError(
                f"unknown query parameter '{shown}'; use {', '.join(known)}", param=shown
            )
