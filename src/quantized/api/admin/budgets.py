"""``/admin/v1/budgets``: spending limits per caller, with this period's spend."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import admin, json_object, runtime
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.errors import InvalidRequestError
from quantized.services import budgets
from quantized.services.actors import actor_of
from quantized.usage.cost import usd_number


async def list_budgets(request: Request) -> Response:
    await admin(request)
    app = runtime(request)
    now = time.time()
    data = []
    for budget in await budgets.list_budgets(app.engine):
        today, month = app.state.budgets.spent(budget.subject_kind, budget.subject_id, now)
        data.append(
            {
                **budgets.budget_json(budget),
                "spent_today_usd": usd_number(today),
                "spent_this_month_usd": usd_number(month),
            }
        )
    return json_response({"object": "list", "data": data})


def _subject(request: Request) -> tuple[str, str]:
    return budgets.parse_subject(f"{request.path_params['kind']}:{request.path_params['subject']}")


async def set_budget(request: Request) -> Response:
    principal = await admin(request)
    kind, subject = _subject(request)
    body = await json_object(request)
    unknown = [name for name in body if name not in ("daily_usd", "monthly_usd")]
    if unknown:
        raise InvalidRequestError(f"unknown field '{unknown[0][:50]}'", param=unknown[0][:50])
    app = runtime(request)
    budget = await budgets.set_budget(
        app.engine,
        actor_of(principal),
        kind,
        subject,
        budgets.to_limit(body.get("daily_usd"), "daily_usd"),
        budgets.to_limit(body.get("monthly_usd"), "monthly_usd"),
    )
    await app.refresh()
    return json_response(budgets.budget_json(budget))


async def remove_budget(request: Request) -> Response:
    principal = await admin(request)
    kind, subject = _subject(request)
    app = runtime(request)
    await budgets.remove_budget(app.engine, actor_of(principal), kind, subject)
    await app.refresh()
    return json_response({"caller": {"kind": kind, "id": subject}, "deleted": True})


def routes() -> list[BaseRoute]:
    return [
        route("/admin/v1/budgets", GET=list_budgets),
        route("/admin/v1/budgets/{kind}/{subject:path}", PUT=set_budget, DELETE=remove_budget),
    ]
