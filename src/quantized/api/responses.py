"""OpenAI's Responses API: ``POST /v1/responses``, and the caller's stored responses.

``POST /v1/responses`` goes through the gateway pipeline: the surface
(``quantized.gateway.surfaces.responses``) passes the request to an upstream that
serves this API, or translates it for any other; errors are in OpenAI's shape,
and inside a stream an ``error`` event of this API.

``/v1/responses/{response_id}``: retrieve one stored response (``store: true``),
delete one, or page through its input items, as OpenAI's API and SDKs do
(``client.responses.retrieve``, ``.delete``, ``.input_items.list``). Only the
caller that made a response sees it: to any other it is an unknown id (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import response_schemas as schemas
from quantized.api.bodies import BodyBudget
from quantized.api.errors import RESPONSES
from quantized.api.json_response import json_response
from quantized.api.model_route import ModelRoute
from quantized.api.requests import ASCII_INTEGER, Parameters, PathParameters, runtime
from quantized.api.routing import (
    Answer,
    Declared,
    Endpoint,
    Handler,
    Operation,
    operation,
    path,
    principal,
    query,
    route,
)
from quantized.errors import InvalidRequestError
from quantized.gateway.pipeline import Pipeline
from quantized.gateway.responses.stored import Caller, ResponseStore, StoredResponse
from quantized.gateway.surfaces.responses import Responses
from quantized.services import responses
from quantized.values import LINE, MAX_ID

PATH = "/v1/responses"
TAGS = ("responses",)
# Bounded so that a URL with every parameter at its longest stays under the 8 KiB the
# server reads (percent-encoded, a character may take 12 bytes).
ResponseId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[!-~]+$")]
"""Printable ASCII: the gateway's ids (``resp_`` and hexadecimal digits) and upstreams'."""
ItemId = Annotated[str, Field(min_length=1, max_length=256, pattern=LINE)]
"""Any line: a client may have named its input items itself."""
Include = Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9_.-]*$")]
Includes = Annotated[
    list[Include],
    Field(
        max_length=16,
        description="Accepted for OpenAI's SDKs (also as include[]) and ignored: a stored "
        "response is answered as it was made",
    ),
]


class ResponsePath(PathParameters):
    what = "response"
    response_id: ResponseId


class RetrieveQuery(Parameters):
    include: Includes | None = None
    include_obfuscation: Annotated[bool, Field(description="Streaming only; ignored")] | None = None
    starting_after: (
        Annotated[int, Field(ge=0, le=MAX_ID, description="Streaming only; ignored"), ASCII_INTEGER]
        | None
    ) = None
    stream: bool = Field(
        default=False,
        description="Only false: streaming a stored response is not supported (true is a 400)",
        json_schema_extra={"const": False},
    )


class InputItemsQuery(Parameters):
    after: Annotated[ItemId, Field(description="List the items after this one")] | None = None
    include: Includes | None = None
    limit: Annotated[int, Field(ge=1, le=100, description="Items per page"), ASCII_INTEGER] = 20
    order: Literal["asc", "desc"] = Field(
        default="desc", description="asc: in the order sent; desc: the last item first"
    )


def _caller(request: Request) -> Caller:
    who = principal(request)
    return who.kind, who.id


def _on_a_response(summary: str, answer: Answer, **details: Any) -> Callable[[Endpoint], Handler]:
    """Declare an operation on one of the caller's responses (``/v1/responses/{id}…``)."""
    return operation(
        summary,
        tags=TAGS,
        security="caller",
        path=ResponsePath,
        responses={200: answer},
        **details,
    )


async def _own(request: Request) -> StoredResponse:
    """The caller's response the path names, or a 404."""
    response_id = path(request, ResponsePath).response_id
    return await responses.find(runtime(request).responses, _caller(request), response_id)


@_on_a_response(
    "Get one of the caller's stored responses",
    Answer("The response, as it was answered", schemas.ResponseObject),
    query=RetrieveQuery,
)
async def retrieve(request: Request) -> Response:
    if query(request, RetrieveQuery).stream:
        raise InvalidRequestError(
            "Streaming a stored response is not supported; retrieve it without stream.",
            param="stream",
        )
    return json_response((await _own(request)).response)


@_on_a_response(
    "Delete one of the caller's stored responses", Answer("Deleted", schemas.ResponseDeleted)
)
async def delete(request: Request) -> Response:
    response_id = path(request, ResponsePath).response_id
    deleted = await responses.delete(runtime(request).responses, _caller(request), response_id)
    return json_response(deleted)


@_on_a_response(
    "List the input items of one of the caller's stored responses",
    Answer("A page of input items", schemas.InputItemList),
    query=InputItemsQuery,
)
async def input_items(request: Request) -> Response:
    given = query(request, InputItemsQuery)
    page = responses.input_items(
        await _own(request), limit=given.limit, order=given.order, after=given.after
    )
    return json_response(page)


def routes() -> list[BaseRoute]:
    return [
        route("/v1/responses/{response_id}", GET=retrieve, DELETE=delete),
        route("/v1/responses/{response_id}/input_items", GET=input_items),
    ]


def create_response(
    pipeline: Pipeline, store: ResponseStore | None, *, max_body_bytes: int, budget: BodyBudget
) -> ModelRoute:
    """``POST /v1/responses``: a model route (outside the framework's router)."""
    return ModelRoute(
        pipeline, Responses(store), RESPONSES, max_body_bytes=max_body_bytes, budget=budget
    )


OPERATIONS = (
    Declared(
        PATH,
        "POST",
        Operation(
            "Create a model response (OpenAI's Responses API), routed to the model's upstream",
            TAGS,
            {
                200: Answer(
                    "The response; with stream=true, the Responses API's server-sent events "
                    "(response.created … response.completed)",
                    schemas.ResponseObject,
                    media_types=("application/json", "text/event-stream"),
                ),
            },
            security="caller",
            body=schemas.ResponsesRequestBody,
            errors=(403, 404, 410, 429, 502, 504),
        ),
    ),
)
"""For the OpenAPI document; the pipeline checks the body (``gateway.responses.request``)."""
