"""``/admin/v1/``: administration over HTTP, for admin keys and admin tokens only."""

from __future__ import annotations

from starlette.routing import BaseRoute

from quantized.api.admin import audit, budgets, catalog, keys, usage


def routes() -> list[BaseRoute]:
    return [
        *catalog.routes(),
        *keys.routes(),
        *audit.routes(),
        *usage.routes(),
        *budgets.routes(),
    ]
