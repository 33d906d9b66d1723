"""``GET /healthz``: the process is up and answering."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    runtime = request.app.state.runtime
    loaded = runtime.state.loaded
    return JSONResponse(
        {"status": "ok" if loaded else "starting"}, status_code=200 if loaded else 503
    )
