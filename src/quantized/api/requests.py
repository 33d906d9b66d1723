"""What the framework routes share: the runtime, the caller, JSON bodies within limits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.catalog.schema import location
from quantized.errors import InvalidRequestError, PayloadTooLargeError, PermissionDeniedError
from quantized.gateway.request import contains_nul

if TYPE_CHECKING:
    from quantized.runtime import Runtime

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json", "application/merge-patch+json")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def caller(request: Request) -> Principal:
    """The authenticated caller (API key or JWT), or a 401."""
    state = runtime(request).state
    header = request.headers.get("authorization")
    raw = header.encode("latin-1") if header is not None else None
    try:
        return state.authenticate(raw, time.time())
    except RefreshRequired as pending:
        await pending.source.refetch()
        return state.authenticate(raw, time.time(), may_refresh=False)


async def admin(request: Request) -> Principal:
    """The caller, who must be an admin (admin key, or JWT with the admin role), or a 403."""
    principal = await caller(request)
    if not principal.is_admin:
        raise PermissionDeniedError(
            "This endpoint needs an admin API key or a token with the admin role.",
            code="admin_required",
        )
    return principal


async def body_bytes(request: Request, *, allowed: tuple[str, ...] = JSON_TYPES) -> bytes:
    """The request body, refusing other media types and anything over the size limit."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in allowed:
        raise InvalidRequestError(
            f"unsupported content type '{media[:100]}'; send {' or '.join(allowed)}",
            code="unsupported_media_type",
        )
    limit = runtime(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"request body over {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(data: bytes) -> Any:
    if not data.strip():
        raise InvalidRequestError("request body is empty; send a JSON object", code="invalid_json")
    if contains_nul(data):
        raise InvalidRequestError("request body contains a NUL character", code="invalid_json")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"request body is not valid JSON: {exc}", code="invalid_json"
        ) from None


async def json_object(request: Request) -> dict[str, Any]:
    value = parse_json(await body_bytes(request))
    if not isinstance(value, dict):
        raise InvalidRequestError("request body must be a JSON object", code="invalid_json")
    return value


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``; the first problem becomes a 400 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = location(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise InvalidRequestError(
            f"{where}: {message}" if where else message, param=where or None
        ) from None


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}", param=name)
    return int(raw)


def reject_unknown(params: Mapping[str, str], known: tuple[str, ...]) -> None:
    """A 400 naming the first query parameter that is not in ``known``."""
    for name in params:
        if name not in known:
            raise InvalidRequestError(
                f"unknown query parameter '{name[:50]}'; use {', '.join(known)}", param=name[:50]
            )
