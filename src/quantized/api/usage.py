"""``GET /v1/usage``: the caller's own spend, by day and model."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Day, Parameters, Text, runtime
from quantized.api.routing import Answer, operation, principal, query, route
from quantized.services.budgets import budget_json
from quantized.services.usage import default_range, summary
from quantized.usage.cost import usd_number


class UsageQuery(Parameters):
    """A range of days (an empty one if ``start`` is after ``end``) and a model."""

    start: Annotated[Day, Field(description="First day (default: this month's first)")] | None = (
        None
    )
    end: Annotated[Day, Field(description="Last day (default: today, UTC)")] | None = None
    model: Annotated[Text, Field(description="Only this model")] | None = None

    def days(self) -> tuple[str, str]:
        first, last = default_range()
        return (self.start or first).isoformat(), (self.end or last).isoformat()


@operation(
    "The caller's own spend, by day and model",
    tags=("usage",),
    security="caller",
    query=UsageQuery,
    responses={200: Answer("Spend", schemas.OwnUsage)},
)
async def own_usage(request: Request) -> Response:
    caller = principal(request)
    given = query(request, UsageQuery)
    start, end = given.days()
    result = await summary(
        runtime(request).engine,
        start=start,
        end=end,
        caller=(caller.kind, caller.id),
        model=given.model,
    )
    for row in result["data"]:
        del row["caller"]
    result["caller"] = {"kind": caller.kind, "id": caller.id, "admin": caller.is_admin}
    state = runtime(request).state.budgets
    budget = state.budget(caller.kind, caller.id)
    if budget is not None:
        today, month = state.spent(caller.kind, caller.id, time.time())
        result["budget"] = {
            **budget_json(budget),
            "spent_today_usd": usd_number(today),
            "spent_this_month_usd": usd_number(month),
        }
    else:
        result["budget"] = None
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [route("/v1/usage", GET=own_usage)]
