"""``/admin/v1/``: administration over HTTP, for admin keys and admin tokens only."""

from __future__ import annotations

from starlette.routing import BaseRoute

from quantized.api.admin import (
    alerts,
    audit,
    budgets,
    catalog,
    keys,
    prices,
    reports,
    teams,
    upstreams,
    usage,
)


def routes() -> list[BaseRoute]:
    return [
        *catalog.routes(),
        *prices.routes(),
        *keys.routes(),
        *teams.routes(),
        *audit.routes(),
        *usage.routes(),
        *reports.routes(),
        *alerts.routes(),  # before budgets': /budgets/alerts is not a budget's id
        *budgets.routes(),
        *upstreams.routes(),
    ]
