"""``/admin/v1/``: administration over HTTP, for admin keys and admin tokens only."""

from __future__ import annotations

from starlette.routing import BaseRoute

from quantized.api.admin import audit, keys, models, usage


def routes() -> list[BaseRoute]:
    return [*models.routes(), *keys.routes(), *audit.routes(), *usage.routes()]
