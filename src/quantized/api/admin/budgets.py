"""``/admin/v1/budgets``: spending limits per caller, with this period's spend.

A caller is an API key (``/budgets/key/{key_id}``) or a token subject
(``/budgets/jwt/{subject}``); both paths go through the one rule the CLI uses
(``services.budgets.parse_subject``).
"""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Id, PathParameters, runtime
from quantized.api.routing import Answer, body, operation, path, principal, route
from quantized.services import budgets
from quantized.services.actors import actor_of
from quantized.usage.cost import usd_number

PREFIX = "/admin/v1/budgets"
TAGS = ("admin: usage",)
USD = Annotated[
    float,
    Field(ge=0, le=int(budgets.MAX_USD), allow_inf_nan=False, description="USD; null: no limit"),
]


class BudgetIn(BaseModel):
    """A caller's limits; a limit not given (or null) is removed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    daily_usd: USD | None = None
    monthly_usd: USD | None = None


class KeyCaller(PathParameters):
    what = "API key"
    code = "key_not_found"
    key_id: Id


class TokenCaller(PathParameters):
    what = "token subject"
    code = "budget_not_found"
    subject: Annotated[str, Field(pattern=budgets.JWT_SUBJECT, description="The JWT subject")]


def _caller(request: Request) -> tuple[str, str]:
    if "key_id" in request.path_params:
        return budgets.parse_subject(f"key:{path(request, KeyCaller).key_id}")
    return budgets.parse_subject(f"jwt:{path(request, TokenCaller).subject}")


@operation(
    "Spending limits, with this period's spend",
    tags=TAGS,
    responses={200: Answer("Budgets", schemas.BudgetList)},
)
async def list_budgets(request: Request) -> Response:
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


async def set_budget(request: Request) -> Response:
    kind, subject = _caller(request)
    given = body(request, BudgetIn)
    app = runtime(request)
    budget = await budgets.set_budget(
        app.engine,
        actor_of(principal(request)),
        kind,
        subject,
        budgets.to_limit(given.daily_usd, "daily_usd"),
        budgets.to_limit(given.monthly_usd, "monthly_usd"),
    )
    await app.refresh()
    return json_response(budgets.budget_json(budget))


async def remove_budget(request: Request) -> Response:
    kind, subject = _caller(request)
    app = runtime(request)
    await budgets.remove_budget(app.engine, actor_of(principal(request)), kind, subject)
    await app.refresh()
    return json_response({"caller": {"kind": kind, "id": subject}, "deleted": True})


def _route(template: str, caller: type[PathParameters], who: str) -> BaseRoute:
    put = operation(
        f"Set the daily and monthly limits of {who} in USD (null: no limit)",
        tags=TAGS,
        path=caller,
        body=BudgetIn,
        responses={200: Answer("The budget", schemas.BudgetOut)},
    )(set_budget)
    delete = operation(
        f"Remove the limits of {who}",
        tags=TAGS,
        path=caller,
        responses={200: Answer("Removed", schemas.BudgetDeleted)},
    )(remove_budget)
    return route(template, PUT=put, DELETE=delete)


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_budgets),
        _route(f"{PREFIX}/key/{{key_id}}", KeyCaller, "an API key"),
        _route(f"{PREFIX}/jwt/{{subject:path}}", TokenCaller, "a token subject"),
    ]
