"""``/admin/v1/usage``: everyone's spend, by day, caller and model (from the daily
aggregates; ``/admin/v1/reports/spend`` groups and filters by more)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import runtime
from quantized.api.routing import Answer, operation, query, route
from quantized.api.usage import UsageQuery
from quantized.services import budgets
from quantized.services.usage import summary


class AllUsageQuery(UsageQuery):
    caller: (
        Annotated[str, Field(pattern=budgets.CALLER, description="Only key:<id> or jwt:<subject>")]
        | None
    ) = None


@operation(
    "Everyone's spend, by day, caller and model",
    tags=("admin: usage",),
    query=AllUsageQuery,
    responses={200: Answer("Spend", schemas.UsageSummary)},
)
async def all_usage(request: Request) -> Response:
    given = query(request, AllUsageQuery)
    start, end = given.days(request)
    result = await summary(
        runtime(request).engine,
        start=start,
        end=end,
        caller=budgets.parse_subject(given.caller) if given.caller is not None else None,
        model=given.model,
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [route("/admin/v1/usage", GET=all_usage)]
