"""``/admin/v1/audit``: who changed what, when, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import ASCII_INTEGER, Day, Parameters, Text, runtime
from quantized.api.routing import Answer, operation, query, route
from quantized.services import audit
from quantized.values import MAX_ID


class AuditQuery(Parameters):
    limit: Annotated[int, Field(ge=1, le=1000, description="Entries per page"), ASCII_INTEGER] = 100
    before: (
        Annotated[
            int, Field(ge=1, le=MAX_ID, description="Entries older than this id"), ASCII_INTEGER
        ]
        | None
    ) = None
    entity: (
        Annotated[
            Literal["model", "key", "budget", "team"],
            Field(description="Only changes to this kind"),
        ]
        | None
    ) = None
    entity_id: Annotated[Text, Field(description="Only this model, key, budget or team")] | None = (
        None
    )
    actor: Annotated[Text, Field(description="Only changes by this actor id")] | None = None
    since: Annotated[Day, Field(description="Only changes on or after this day (UTC)")] | None = (
        None
    )
    until: Annotated[Day, Field(description="Only changes on or before this day (UTC)")] | None = (
        None
    )

    def period(self) -> tuple[float | None, float | None]:
        """[since, until) in unix seconds: from the first day's start to the last day's end."""
        start = end = None
        if self.since is not None:
            start = dt.datetime.combine(self.since, dt.time(), dt.UTC).timestamp()
        if self.until is not None:
            end = dt.datetime.combine(self.until, dt.time(), dt.UTC).timestamp() + 86400
        return start, end


@operation(
    "Administrative changes, newest first",
    tags=("admin: audit",),
    query=AuditQuery,
    responses={200: Answer("A page of entries", schemas.AuditList)},
)
async def list_entries(request: Request) -> Response:
    given = query(request, AuditQuery)
    found = await audit.recent(
        runtime(request).engine,
        limit=given.limit + 1,
        before_id=given.before,
        entity=given.entity,
        entity_id=given.entity_id,
        actor_id=given.actor,
        period=given.period(),
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
                for e in found[: given.limit]
            ],
            "has_more": len(found) > given.limit,
        }
    )


def routes() -> list[BaseRoute]:
    return [route("/admin/v1/audit", GET=list_entries)]
