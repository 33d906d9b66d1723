"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can serve everything)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import runtime
from quantized.api.routing import Answer, operation

TAGS = ("health",)


@operation(
    "Liveness: the process has loaded the catalog and keys",
    tags=TAGS,
    security="public",
    responses={
        200: Answer("Serving", schemas.Health),
        503: Answer("Still starting", schemas.Health),
    },
)
async def healthz(request: Request) -> Response:
    loaded = runtime(request).state.loaded
    return json_response({"status": "ok" if loaded else "starting"}, 200 if loaded else 503)


@operation(
    "Readiness: catalog loaded, database and Redis reachable",
    tags=TAGS,
    security="public",
    responses={
        200: Answer("Ready", schemas.Readiness),
        503: Answer("Not ready: the body says why", schemas.Readiness),
    },
)
async def readyz(request: Request) -> Response:
    """200 when the catalog is loaded and the database (and Redis, if configured) answer.

    The body says what is wrong otherwise; a degraded instance still serves what it
    can (from memory, with per-process limits), so this is for load balancers that
    prefer fully healthy instances.
    """
    app = runtime(request)
    state = app.state
    redis = "not configured"
    if app.redis is not None:
        redis = "ok" if app.redis.available else "unreachable"
    checks = {
        "catalog": "loaded" if state.loaded else "loading",
        "database": "ok" if state.store_ok else "unreachable",
        "redis": redis,
        "changes": "notified" if app.notices_active else "polling",
        "models": len(state.catalog.active),
        "keys": len(state.auth.keys),
    }
    ready = state.loaded and state.store_ok and redis != "unreachable"
    return json_response(
        {"status": "ready" if ready else "unready", **checks}, 200 if ready else 503
    )
