"""``GET /v1/usage``: the caller's own spend, by day and model."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import caller, reject_unknown, runtime
from quantized.api.responses import json_response
from quantized.api.routing import route
from quantized.services.usage import default_range, parse_day, summary


async def own_usage(request: Request) -> Response:
    principal = await caller(request)
    params = request.query_params
    reject_unknown(params, ("start", "end", "model"))
    first, last = default_range()
    result = await summary(
        runtime(request).engine,
        start=parse_day(params.get("start"), first, "start"),
        end=parse_day(params.get("end"), last, "end"),
        caller=(principal.kind, principal.id),
        model=params.get("model"),
    )
    for row in result["data"]:
        del row["caller"]
    result["caller"] = {"kind": principal.kind, "id": principal.id}
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [route("/v1/usage", GET=own_usage)]
