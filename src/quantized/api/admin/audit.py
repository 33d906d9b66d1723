"""``/admin/v1/audit``: who changed what, when, newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import admin, query_int, reject_unknown, runtime
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.errors import InvalidRequestError
from quantized.services import audit

_FILTERS = ("limit", "before", "entity", "entity_id", "actor")


async def list_entries(request: Request) -> Response:
    await admin(request)
    params = request.query_params
    reject_unknown(params, _FILTERS)
    limit = query_int(request, "limit", 100, low=1, high=1000)
    before = query_int(request, "before", 0, low=1, high=2**62) if "before" in params else None
    entity = params.get("entity")
    if entity is not None and entity not in ("model", "key", "budget"):
        raise InvalidRequestError("entity must be 'model', 'key' or 'budget'", param="entity")
    found = await audit.recent(
        runtime(request).engine,
        limit=limit + 1,
        before_id=before,
        entity=entity,
        entity_id=params.get("entity_id"),
        actor_id=params.get("actor"),
    )
    return json_response(
        {
            "object": "list",
            "data": [
                {
                    "id": e.id,
                    "at": e.at,
                    "actor": {"kind": e.actor.kind, "id": e.actor.id, "name": e.actor.name},
                    "action": e.action,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                    "before": e.before,
                    "after": e.after,
                }
                for e in found[:limit]
            ],
            "has_more": len(found) > limit,
        }
    )


def routes() -> list[BaseRoute]:
    return [route("/admin/v1/audit", GET=list_entries)]
