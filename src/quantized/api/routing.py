"""Routes that declare what they take and answer, and are held to it.

Every handler is declared with :func:`operation`: who may call it, its path,
query and body models, and its answers. The declaration does two jobs, so the
two can never disagree:

- before the handler runs, :class:`Operation.prepare` authenticates the caller,
  then validates the path (anything that names nothing is a 404), the query
  string (an unknown parameter is a 400 naming it) and a JSON body against the
  declared models; the handler reads the results with :func:`principal`,
  :func:`path`, :func:`query` and :func:`body`;
- ``quantized.api.openapi`` builds the OpenAPI document from the same models.

:func:`route` puts the handlers of one path in one framework route, dispatching
on the method, so a 405 names every allowed method. The raw routes outside the
framework (``/v1/models``, ``/v1/chat/completions``) declare :class:`Declared`
operations in their own modules for the document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from quantized.api import requests
from quantized.api.boundary import ROUTE
from quantized.auth.principal import Principal

Endpoint = Callable[[Request], Awaitable[Response]]
Schema = Mapping[str, Any]
Security = Literal["public", "caller", "admin"]
M = TypeVar("M", bound=BaseModel)
JSON = ("application/json",)
_INPUT = "quantized.input"


class NoParameters(BaseModel):
    """The query of an operation that takes none: any parameter is a 400 naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Answer:
    """One documented response: a model, a raw JSON schema, or no body at all."""

    description: str
    schema: type[BaseModel] | Schema | None = None
    media_types: tuple[str, ...] = JSON


@dataclass(frozen=True, slots=True)
class Header:
    """A request header the operation reads (documented; handlers read it themselves)."""

    name: str
    description: str
    schema: Schema = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class Operation:
    """What one method of one path takes and answers.

    ``body`` is a model the body is validated against before the handler runs, or a
    raw schema (documented only) for a body the handler reads itself. ``errors`` are
    the error statuses the handler itself may answer; those that follow from the
    declaration (400 for input, 401/403/503 for callers, 404 for paths, 413 for
    bodies) are added by :meth:`error_statuses`.
    """

    summary: str
    tags: tuple[str, ...]
    responses: Mapping[int, Answer]
    security: Security = "admin"
    path: type[requests.PathParameters] | None = None
    query: type[BaseModel] = NoParameters
    body: type[BaseModel] | Schema | None = None
    body_media: tuple[str, ...] = JSON
    headers: tuple[Header, ...] = ()
    errors: tuple[int, ...] = ()
    description: str | None = None
    error_schema: type[BaseModel] | None = None
    """The error body's model, if not OpenAI's shape (``schemas.Error``)."""

    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if self.security == "public":
            statuses.add(400)  # an unknown query parameter
        else:
            statuses |= {400, 401, 503}
        if self.security == "admin":
            statuses.add(403)
        if self.path is not None:
            statuses.add(404)
        if self.body is not None:
            statuses.add(413)
        return sorted(statuses - set(self.responses))

    async def prepare(self, request: Request) -> None:
        """Authenticate, then check the path, the query and the body, in that order."""
        found: dict[str, Any] = {}
        if self.security == "admin":
            found["principal"] = await requests.admin(request)
        elif self.security == "caller":
            found["principal"] = await requests.caller(request)
        if self.path is not None:
            found["path"] = requests.path_params(request, self.path)
        found["query"] = requests.query_params(request, self.query)
        if isinstance(self.body, type):
            data = await requests.json_object(request, allowed=self.body_media)
            found["body"] = requests.validate(self.body, data)
        request.scope[_INPUT] = found


@dataclass(frozen=True, slots=True)
class Handler:
    """An endpoint with its declaration; see :func:`operation`."""

    operation: Operation
    endpoint: Endpoint

    async def __call__(self, request: Request) -> Response:
        await self.operation.prepare(request)
        return await self.endpoint(request)


@dataclass(frozen=True, slots=True)
class Declared:
    """An operation of a raw route (outside the framework router), for the document."""

    path: str
    method: str
    operation: Operation


def operation(
    summary: str, *, tags: tuple[str, ...], responses: Mapping[int, Answer], **details: Any
) -> Callable[[Endpoint], Handler]:
    """Declare an endpoint: ``@operation("Get a key", tags=..., path=KeyPath, responses=...)``.

    ``details`` are the other fields of :class:`Operation`.
    """
    declared = Operation(summary, tags, responses, **details)

    def bind(endpoint: Endpoint) -> Handler:
        return Handler(declared, endpoint)

    return bind


class DeclaredRoute(Route):
    """A framework route that knows the operations of each of its methods.

    ``reserved`` are path segments that belong to sibling routes (``/keys/import``
    beside ``/keys/{key_id}``): this route does not match them, so another method on
    ``/keys/import`` is a 405 naming that route's methods, not a 404 for a key.
    """

    def __init__(
        self, path: str, handlers: Mapping[str, Handler], reserved: tuple[str, ...] = ()
    ) -> None:
        self.operations = {method: handler.operation for method, handler in handlers.items()}
        self.reserved = reserved

        async def endpoint(request: Request) -> Response:
            return await handlers[request.method](request)

        super().__init__(path, endpoint, methods=list(handlers))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and self.reserved:
            if any(value in self.reserved for value in child.get("path_params", {}).values()):
                return Match.NONE, {}
        if match is not Match.NONE:
            child[ROUTE] = self.path  # the template, for metrics (see Boundary)
        return match, child


def route(path: str, *, reserved: tuple[str, ...] = (), **handlers: Handler) -> DeclaredRoute:
    """``route("/x", GET=read, POST=create)``; ``HEAD`` is answered like ``GET``."""
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])
    return DeclaredRoute(path, handlers, reserved)


def _found(request: Request, part: str) -> Any:
    return request.scope[_INPUT][part]


def principal(request: Request) -> Principal:
    """The authenticated caller of an operation that is not public."""
    found = _found(request, "principal")
    assert isinstance(found, Principal)  # noqa: S101 - the declaration guarantees it
    return found


def _typed(request: Request, part: str, model: type[M]) -> M:
    found = _found(request, part)
    if not isinstance(found, model):
        raise TypeError(f"the operation declares no {part} of type {model.__name__}")
    return found


def path(request: Request, model: type[M]) -> M:
    """The validated path parameters."""
    return _typed(request, "path", model)


def query(request: Request, model: type[M]) -> M:
    """The validated query parameters."""
    return _typed(request, "query", model)


def body(request: Request, model: type[M]) -> M:
    """The validated body."""
    return _typed(request, "body", model)
