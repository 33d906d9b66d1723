"""``GET /metrics``: the server's metrics in the Prometheus text format.

An admin key or token is needed, unless ``QUANTIZED_METRICS_PUBLIC`` is on (for
scrapers that cannot send a bearer token: then keep the port private).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api.requests import runtime
from quantized.api.routing import Answer, Handler, operation, route
from quantized.observability.metrics import CONTENT_TYPE

PATH = "/metrics"


async def _metrics(request: Request) -> Response:
    running = runtime(request)
    metrics = running.metrics
    assert metrics is not None  # noqa: S101 - the route exists only with metrics on
    metrics.sample(running.snapshot())
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)


def _declared(public: bool) -> Handler:
    return operation(
        "Metrics in the Prometheus text format",
        tags=("health",),
        security="public" if public else "admin",
        description="Counters, gauges and histograms of the whole server (every worker). "
        "Needs an admin credential unless QUANTIZED_METRICS_PUBLIC is true.",
        responses={
            200: Answer(
                "The exposition",
                {"type": "string"},
                media_types=("text/plain; version=0.0.4",),
            )
        },
    )(_metrics)


def routes(public: bool) -> list[BaseRoute]:
    return [route(PATH, GET=_declared(public))]
