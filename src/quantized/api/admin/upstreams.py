"""``/admin/v1/upstreams``: every deployment the catalog sends to, its health, and a reset.

``GET`` lists them (breaker state, failures, requests in flight, latency);
``POST /admin/v1/upstreams/{upstream}/reset`` closes one's circuit breaker on every
instance (by id or name), so requests go to it again at once.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import upstream_schemas as schemas
from quantized.api.json_response import json_response
from quantized.api.requests import PathParameters, runtime
from quantized.api.routing import Answer, operation, path, principal, route
from quantized.services import upstreams as service
from quantized.services.actors import actor_of

PREFIX = "/admin/v1/upstreams"
TAGS = ("admin: upstreams",)


class UpstreamPath(PathParameters):
    what = "upstream"
    code = "upstream_not_found"
    upstream: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


@operation(
    "Every upstream, with its health",
    tags=TAGS,
    description="Each deployment the catalog's models send to, once, with the models that "
    "use it. state (closed, open, half_open) and retry_in are shared by every instance "
    "when the gateway has Redis; inflight, latency_ms, served and failed are this "
    "instance's own.",
    responses={200: Answer("Upstreams", schemas.UpstreamList)},
)
async def list_upstreams(request: Request) -> Response:
    running = runtime(request)
    views = service.upstreams(running.router, list(running.state.catalog.models))
    return json_response({"object": "list", "data": [service.upstream_json(v) for v in views]})


@operation(
    "Close an upstream's circuit breaker",
    tags=TAGS,
    path=UpstreamPath,
    description="Forgets its failures and ends its cooldown on every instance; audited "
    "(upstream.reset).",
    responses={200: Answer("The upstream", schemas.Upstream)},
)
async def reset_upstream(request: Request) -> Response:
    running = runtime(request)
    view = await service.reset(
        running.engine,
        running.router,
        list(running.state.catalog.models),
        path(request, UpstreamPath).upstream,
        actor_of(principal(request)),
    )
    return json_response(service.upstream_json(view))


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_upstreams),
        route(f"{PREFIX}/{{upstream}}/reset", POST=reset_upstream),
    ]
