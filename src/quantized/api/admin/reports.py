"""``/admin/v1/reports/spend``: spend by team, person, key, model and upstream, per day,
week or month, as JSON or CSV (the daily aggregates, summed; see ``services.reports``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.requests import ASCII_INTEGER, Day, Parameters, Text, runtime
from quantized.api.routing import Answer, operation, query, route
from quantized.api.usage import Format, GroupBy, Period, report_response
from quantized.services import budgets, reports
from quantized.services.reports import Filters
from quantized.services.usage import default_range
from quantized.values import LINE


class SpendQuery(Parameters):
    start: Annotated[Day, Field(description="First day (default: this month's first)")] | None = (
        None
    )
    end: (
        Annotated[Day, Field(description="Last day (default: today, in the gateway's time zone)")]
        | None
    ) = None
    group_by: GroupBy = "team"
    period: Period = "total"
    team: (
        Annotated[
            Text,
            Field(description="Only this team (its name; or its id, for a team no longer there)"),
        ]
        | None
    ) = None
    person: Annotated[Text, Field(description="Only this person")] | None = None
    caller: (
        Annotated[str, Field(pattern=budgets.CALLER, description="Only key:<id> or jwt:<subject>")]
        | None
    ) = None
    model: Annotated[Text, Field(description="Only this model")] | None = None
    upstream: (
        Annotated[str, Field(max_length=300, pattern=LINE, description="Only this upstream")] | None
    ) = None
    format: Format = "json"
    limit: Annotated[
        int, Field(ge=1, le=reports.MAX_ROWS, description="Rows at most"), ASCII_INTEGER
    ] = 10_000


@operation(
    "Spend by team, person, key, model and upstream, per day, week or month",
    tags=("admin: usage",),
    query=SpendQuery,
    description="Sums of the ledger's rows (exactly: cost_usd_exact is the exact decimal) "
    "between two local days of the gateway's time zone, from its daily aggregates. "
    "format=csv answers a CSV file with a header row (text that a spreadsheet would read "
    "as a formula starts with a quote).",
    errors=(404,),
    responses={
        200: Answer("The report", schemas.SpendReport, media_types=("application/json", "text/csv"))
    },
)
async def spend(request: Request) -> Response:
    given = query(request, SpendQuery)
    first, last = default_range(zone=runtime(request).settings.zone)
    report = await reports.spend_report(
        runtime(request).engine,
        start=(given.start or first).isoformat(),
        end=(given.end or last).isoformat(),
        group_by=given.group_by,
        period=given.period,
        filters=Filters(
            team=given.team,
            person=given.person,
            caller=budgets.parse_subject(given.caller) if given.caller is not None else None,
            model=given.model,
            upstream=given.upstream,
        ),
        limit=given.limit,
        timezone=runtime(request).settings.timezone,
    )
    return report_response(report, given.format)


def routes() -> list[BaseRoute]:
    return [route("/admin/v1/reports/spend", GET=spend)]
