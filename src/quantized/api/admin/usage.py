"""``/admin/v1/usage``: everyone's spend, by day, caller and model."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import admin, reject_unknown, runtime
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.services import budgets
from quantized.services.usage import default_range, parse_day, summary


async def all_usage(request: Request) -> Response:
    await admin(request)
    params = request.query_params
    reject_unknown(params, ("start", "end", "model", "caller"))
    first, last = default_range()
    who = params.get("caller")
    result = await summary(
        runtime(request).engine,
        start=parse_day(params.get("start"), first, "start"),
        end=parse_day(params.get("end"), last, "end"),
        caller=budgets.parse_subject(who) if who is not None else None,
        model=params.get("model"),
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [route("/admin/v1/usage", GET=all_usage)]
