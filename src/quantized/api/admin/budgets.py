"""``/admin/v1/budgets``: spending limits of teams, people and keys, with their spend.

``POST /admin/v1/budgets`` creates one (a scope, optionally one model, a period, a limit,
hard or soft, alert thresholds); ``/budgets/{id}`` reads, changes and removes it. The
older per-caller form stays: ``PUT /budgets/key/{key_id}`` and ``/budgets/jwt/{subject}``
set a caller's daily and monthly hard limits together.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import budget_schemas as schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Id, PathParameters, Text, optional, runtime
from quantized.api.routing import Answer, body, operation, path, principal, route
from quantized.services import budgets
from quantized.services.actors import actor_of
from quantized.usage.budgets import Budget
from quantized.usage.windows import MAX_ROLLING_DAYS
from quantized.validation import INTEGRAL

PREFIX = "/admin/v1/budgets"
TAGS = ("admin: budgets",)
USD = Annotated[float, Field(ge=0, le=int(budgets.MAX_USD), allow_inf_nan=False)]
Thresholds = Annotated[
    list[Annotated[int, Field(ge=1, le=1000), INTEGRAL]],
    Field(max_length=10, description="Percentages of the limit that raise an alert"),
]


class BudgetIn(BaseModel):
    """A new budget."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scope: Annotated[
        str,
        Field(
            max_length=220,
            description="team:<id>, person:<token subject or e-mail>, or key:<id>",
        ),
    ]
    model: Text = optional(description="Only this model (by id); every model when left out")
    period: Literal["day", "week", "month", "rolling"]
    days: Annotated[int, Field(ge=1, le=MAX_ROLLING_DAYS), INTEGRAL] = optional(
        description="A rolling window's days (rolling budgets only)"
    )
    limit_usd: USD
    hard: bool = True
    thresholds: Thresholds = optional(description="Default: [80, 100]")


class BudgetChange(BaseModel):
    """What to change of a budget."""

    model_config = ConfigDict(extra="forbid", strict=True)

    limit_usd: USD = optional()
    hard: bool = optional()
    thresholds: Thresholds = optional()


class BudgetPath(PathParameters):
    what = "budget"
    code = "budget_not_found"
    budget_id: Id


class LimitsIn(BaseModel):
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


@operation(
    "Budgets, with their current window's spend",
    tags=TAGS,
    responses={200: Answer("Budgets", schemas.Budgets)},
)
async def list_budgets(request: Request) -> Response:
    app = runtime(request)
    now = time.time()
    found = await budgets.list_budgets(app.engine)
    data = [budgets.status_json(b, app.state.budgets, now) for b in found]
    return json_response({"object": "list", "data": data})


@operation(
    "Create a budget",
    tags=TAGS,
    body=BudgetIn,
    responses={201: Answer("Created", schemas.BudgetStatus)},
    errors=(404, 409),
    description="A rolling period needs `days`; other periods take none (400). The scope's "
    "team or key must exist (404), the model must be in the catalog (409), and a scope has "
    "one budget per model and period (409 `budget_exists`).",
)
async def create_budget(request: Request) -> Response:
    given = body(request, BudgetIn)
    kind, scope_id = budgets.parse_scope(given.scope)
    limit = budgets.to_limit(given.limit_usd, "limit_usd")
    assert limit is not None  # noqa: S101 - required by the model
    new = Budget(
        id=0,
        scope_kind=kind,
        scope_id=scope_id,
        model=given.model or "",
        period=given.period,
        days=budgets.check_period(given.period, given.days),
        limit_pusd=limit,
        hard=given.hard,
        thresholds=budgets.check_thresholds(given.thresholds),
    )
    app = runtime(request)
    stored = await budgets.create_budget(app.engine, actor_of(principal(request)), new)
    await app.refresh()
    return json_response(budgets.status_json(stored, app.state.budgets, time.time()), status=201)


@operation(
    "A budget, with its current window's spend",
    tags=TAGS,
    path=BudgetPath,
    responses={200: Answer("The budget", schemas.BudgetStatus)},
)
async def get_budget(request: Request) -> Response:
    app = runtime(request)
    found = await budgets.get_budget(app.engine, path(request, BudgetPath).budget_id)
    return json_response(budgets.status_json(found, app.state.budgets, time.time()))


@operation(
    "Change a budget's limit, kind or alert thresholds",
    tags=TAGS,
    path=BudgetPath,
    body=BudgetChange,
    responses={200: Answer("The budget", schemas.BudgetStatus)},
)
async def update_budget(request: Request) -> Response:
    given = body(request, BudgetChange)
    changes: dict[str, object] = {}
    if given.limit_usd is not None:
        changes["limit_pusd"] = budgets.to_limit(given.limit_usd, "limit_usd")
    if given.hard is not None:
        changes["hard"] = given.hard
    if given.thresholds is not None:
        changes["thresholds"] = budgets.check_thresholds(given.thresholds)
    app = runtime(request)
    budget_id = path(request, BudgetPath).budget_id
    updated = await budgets.update_budget(
        app.engine, actor_of(principal(request)), budget_id, changes
    )
    await app.refresh()
    return json_response(budgets.status_json(updated, app.state.budgets, time.time()))


@operation(
    "Remove a budget",
    tags=TAGS,
    path=BudgetPath,
    responses={200: Answer("Removed", schemas.BudgetDeleted)},
)
async def delete_budget(request: Request) -> Response:
    app = runtime(request)
    budget_id = path(request, BudgetPath).budget_id
    await budgets.delete_budget(app.engine, actor_of(principal(request)), budget_id)
    await app.refresh()
    return json_response({"id": budget_id, "object": "budget", "deleted": True})


def _caller(request: Request) -> tuple[str, str]:
    if "key_id" in request.path_params:
        return budgets.parse_subject(f"key:{path(request, KeyCaller).key_id}")
    return budgets.parse_subject(f"jwt:{path(request, TokenCaller).subject}")


async def set_limits(request: Request) -> Response:
    kind, subject = _caller(request)
    given = body(request, LimitsIn)
    app = runtime(request)
    limits = await budgets.set_limits(
        app.engine,
        actor_of(principal(request)),
        kind,
        subject,
        budgets.to_limit(given.daily_usd, "daily_usd"),
        budgets.to_limit(given.monthly_usd, "monthly_usd"),
    )
    await app.refresh()
    return json_response(limits)


async def remove_limits(request: Request) -> Response:
    kind, subject = _caller(request)
    app = runtime(request)
    await budgets.remove_limits(app.engine, actor_of(principal(request)), kind, subject)
    await app.refresh()
    return json_response({"caller": {"kind": kind, "id": subject}, "deleted": True})


def _caller_route(template: str, caller: type[PathParameters], who: str) -> BaseRoute:
    put = operation(
        f"Set the daily and monthly hard limits of {who} in USD, for every model (null: none)",
        tags=TAGS,
        path=caller,
        body=LimitsIn,
        responses={200: Answer("The limits", schemas.CallerLimits)},
    )(set_limits)
    delete = operation(
        f"Remove the daily and monthly limits of {who}",
        tags=TAGS,
        path=caller,
        responses={200: Answer("Removed", schemas.CallerLimitsDeleted)},
    )(remove_limits)
    return route(template, PUT=put, DELETE=delete)


def routes() -> list[BaseRoute]:
    return [
        route(PREFIX, GET=list_budgets, POST=create_budget),
        _caller_route(f"{PREFIX}/key/{{key_id}}", KeyCaller, "an API key"),
        _caller_route(f"{PREFIX}/jwt/{{subject:path}}", TokenCaller, "a token subject"),
        route(
            f"{PREFIX}/{{budget_id}}",
            reserved=("alerts",),
            GET=get_budget,
            PATCH=update_budget,
            DELETE=delete_budget,
        ),
    ]
