"""``/admin/v1/budgets/alerts``: the alerts budgets raised, and their webhook deliveries.

``GET`` lists them, newest first (a failed delivery shows its attempts and last error);
``POST /admin/v1/budgets/alerts/{alert_id}/retry`` delivers a failed one again.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import alert_schemas as schemas
from quantized.api.json_response import json_response
from quantized.api.requests import ASCII_INTEGER, Id, Parameters, PathParameters, runtime
from quantized.api.routing import Answer, operation, path, query, route
from quantized.errors import ServiceUnavailableError
from quantized.usage.alerts import Alert, BudgetAlerts, webhook_body
from quantized.values import MAX_ID

PREFIX = "/admin/v1/budgets/alerts"
TAGS = ("admin: budgets",)


class AlertsQuery(Parameters):
    status: (
        Annotated[schemas.AlertStatus, Field(description="Only alerts in this state")] | None
    ) = None
    budget_id: Annotated[Id, Field(description="Only this budget's alerts")] | None = None
    limit: Annotated[int, Field(ge=1, le=1000, description="Alerts per page"), ASCII_INTEGER] = 100
    before: (
        Annotated[
            int, Field(ge=1, le=MAX_ID, description="Alerts older than this id"), ASCII_INTEGER
        ]
        | None
    ) = None


class AlertPath(PathParameters):
    what = "budget alert"
    code = "alert_not_found"
    alert_id: Id


def _alerts(request: Request) -> BudgetAlerts:
    found = runtime(request).state.budgets.alerts
    if not isinstance(found, BudgetAlerts):
        raise ServiceUnavailableError(
            "Budget alerts are not running in this process.", code="alerts_unavailable"
        )
    return found


def alert_json(alert: Alert) -> dict[str, object]:
    return {
        "object": "budget.alert",
        "id": alert.id,
        "budget_id": alert.budget_id,
        "window_label": alert.window,
        "threshold": alert.threshold,
        "created_at": alert.created_at,
        "status": alert.status,
        "attempts": alert.attempts,
        "last_error": alert.last_error,
        "delivered_at": alert.delivered_at,
        "payload": webhook_body(alert.id, alert.payload),
    }


@operation(
    "Budget alerts and their webhook deliveries, newest first",
    tags=TAGS,
    query=AlertsQuery,
    responses={200: Answer("A page of alerts", schemas.BudgetAlertList)},
)
async def list_alerts(request: Request) -> Response:
    given = query(request, AlertsQuery)
    found = await _alerts(request).recent(
        limit=given.limit + 1,
        before_id=given.before,
        status=given.status,
        budget_id=given.budget_id,
    )
    return json_response(
        {
            "object": "list",
            "data": [alert_json(a) for a in found[: given.limit]],
            "has_more": len(found) > given.limit,
        }
    )


@operation(
    "Deliver a failed budget alert again",
    tags=TAGS,
    path=AlertPath,
    errors=(409,),
    description="Makes the alert pending with no attempts made, and delivers it again "
    "(as many attempts as a new one). 409 if it was delivered, is being delivered, or no "
    "webhook is configured.",
    responses={200: Answer("The alert, pending", schemas.BudgetAlert)},
)
async def retry_alert(request: Request) -> Response:
    alert_id = path(request, AlertPath).alert_id
    return json_response(alert_json(await _alerts(request).retry(alert_id)))


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_alerts),
        route(f"{PREFIX}/{{alert_id}}/retry", POST=retry_alert),
    ]
