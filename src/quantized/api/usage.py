"""``GET /v1/usage``: the caller's own spend, by day and model, or as a spend report
(``group_by``, ``period``, ``format=csv``) of its own requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import schemas
from quantized.api.json_response import json_response
from quantized.api.requests import Day, Parameters, Text, runtime
from quantized.api.routing import Answer, operation, principal, query, route
from quantized.services import reports
from quantized.services.budgets import own_budgets
from quantized.services.reports import Filters
from quantized.services.usage import default_range, summary

GroupBy = Annotated[
    str,
    Field(
        pattern=reports.GROUP_BY,
        description="Comma-separated dimensions: team, person, key (the caller: an API key or "
        "a token subject), model, upstream, price (the price each request was charged at: "
        "its history row and prices; read from the ledger's rows); empty for none",
    ),
]
Period = Annotated[
    Literal["day", "week", "month", "total"],
    Field(
        description="Local days, ISO weeks from Monday (2026-W49), months (2026-11) or one total"
    ),
]
Format = Annotated[Literal["json", "csv"], Field(description="JSON, or CSV with a header row")]


class UsageQuery(Parameters):
    """A range of days (an empty one if ``start`` is after ``end``) and a model."""

    start: Annotated[Day, Field(description="First day (default: this month's first)")] | None = (
        None
    )
    end: (
        Annotated[Day, Field(description="Last day (default: today, in the gateway's time zone)")]
        | None
    ) = None
    model: Annotated[Text, Field(description="Only this model")] | None = None

    def days(self, request: Request) -> tuple[str, str]:
        """The range, by default this month so far in the organisation's time zone."""
        first, last = default_range(zone=runtime(request).settings.zone)
        return (self.start or first).isoformat(), (self.end or last).isoformat()


class OwnUsageQuery(UsageQuery):
    """Any of ``group_by``, ``period`` or ``format=csv`` asks for a spend report instead."""

    group_by: (
        Annotated[GroupBy, Field(description="A spend report by these (default: model)")] | None
    ) = None
    period: Annotated[Period, Field(description="A spend report by this (default: day)")] | None = (
        None
    )
    format: Format = "json"

    def wants_report(self) -> bool:
        return self.group_by is not None or self.period is not None or self.format == "csv"


def report_response(report: dict[str, Any], form: str) -> Response:
    """A spend report as JSON, or as a CSV file."""
    if form == "csv":
        return Response(
            reports.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="{reports.csv_filename(report)}"'
            },
        )
    return json_response(report)


@operation(
    "The caller's own spend, by day and model",
    tags=("usage",),
    security="caller",
    query=OwnUsageQuery,
    description="With group_by, period or format=csv: a spend report (as GET "
    "/admin/v1/reports/spend answers) of the caller's own requests only.",
    responses={
        200: Answer(
            "Spend",
            {"oneOf": [schemas.OwnUsage, schemas.SpendReport]},
            media_types=("application/json", "text/csv"),
        )
    },
)
async def own_usage(request: Request) -> Response:
    caller = principal(request)
    given = query(request, OwnUsageQuery)
    start, end = given.days(request)
    if given.wants_report():
        report = await reports.spend_report(
            runtime(request).engine,
            start=start,
            end=end,
            group_by=given.group_by if given.group_by is not None else "model",
            period=given.period or "day",
            filters=Filters(caller=(caller.kind, caller.id), model=given.model),
            timezone=runtime(request).settings.timezone,
        )
        return report_response(report, given.format)
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
    result["budget"], result["budgets"] = own_budgets(caller, runtime(request).state.budgets)
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [route("/v1/usage", GET=own_usage)]
