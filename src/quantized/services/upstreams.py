"""Every upstream the catalog sends to, with its health, for admins: listed, and reset.

An upstream is one deployment (see :func:`~quantized.gateway.balance.upstream_id`):
several models may send to it. Its breaker state is what this instance knows of the
shared state (with Redis: every instance's, read every quarter second); requests in
flight, latency and counts are this instance's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.catalog.model import Model
from quantized.errors import NotFoundError
from quantized.gateway.balance import Target
from quantized.gateway.router import Router
from quantized.store import audit
from quantized.store.audit import Actor
from quantized.store.database import transaction


@dataclass
class UpstreamView:
    target: Target
    models: list[str]
    state: str
    retry_in: float
    failures: int


def upstreams(router: Router, models: list[Model]) -> list[UpstreamView]:
    """The catalog's upstreams (each once, in the order models name them)."""
    found: dict[str, UpstreamView] = {}
    now = time.time()
    breakers = router.breakers
    for model in models:
        for target in router.targets(model):
            view = found.get(target.id)
            if view is None:
                view = found[target.id] = UpstreamView(
                    target,
                    [],
                    breakers.state(target.id, now),
                    breakers.retry_in(target.id, now),
                    breakers.failures(target.id, now),
                )
            view.models.append(model.id)
    return list(found.values())


def upstream_json(view: UpstreamView) -> dict[str, object]:
    target, upstream, stats = view.target, view.target.upstream, view.target.stats
    return {
        "object": "upstream",
        "id": target.id,
        "name": target.name,
        "provider": upstream.provider,
        "location": target.label,
        "model": upstream.model,
        "models": view.models,
        "tier": upstream.tier,
        "weight": upstream.weight,
        "rpm": upstream.rpm,
        "tpm": upstream.tpm,
        "state": view.state,
        "retry_in": round(view.retry_in, 3),
        "recent_failures": view.failures,
        "inflight": stats.inflight,
        "latency_ms": None if stats.latency is None else round(stats.latency * 1000, 3),
        "served": stats.served,
        "failed": stats.failed,
    }


def find(router: Router, models: list[Model], ref: str) -> UpstreamView:
    """An upstream by id or name, or a 404."""
    for view in upstreams(router, models):
        if ref in (view.target.id, view.target.name):
            return view
    raise NotFoundError(f"no upstream {ref!r}", param="upstream", code="upstream_not_found")


async def reset(
    engine: AsyncEngine, router: Router, models: list[Model], ref: str, actor: Actor
) -> UpstreamView:
    """Close an upstream's breaker on every instance, forgetting its failures; audited."""
    view = find(router, models, ref)
    before = view.state
    await router.breakers.reset(view.target.id)
    async with transaction(engine) as conn:
        await audit.record(
            conn,
            actor,
            [
                audit.Change(
                    "upstream.reset",
                    "upstream",
                    view.target.id,
                    {"state": before},
                    {"state": "closed"},
                )
            ],
        )
    return find(router, models, ref)
