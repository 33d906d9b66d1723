"""What a routing decision costs: a model with 10 upstreams, in this process.

A decision is everything the router does before it sends a request: the model's
upstreams (cached per catalog version), their order (tiers, then the strategy),
each one's breaker state, and its provider quota (none here: an upstream with
``rpm``/``tpm`` adds the rate limiter's check, measured by ``bench/limits.py``).
Measured for each strategy, with every breaker closed, and with the first three
upstreams' breakers open (skipped), as the median and p99 of 200,000 decisions.

    python bench/routing.py [--decisions 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from quantized.catalog.model import STRATEGIES, Cost, Model, Upstream
from quantized.gateway.balance import plan
from quantized.gateway.client import UpstreamClient
from quantized.gateway.health import CLOSED, OPEN
from quantized.gateway.router import Router


def model(strategy: str) -> Model:
    upstreams = tuple(
        Upstream(
            "openai",
            f"http://10.0.0.{i}:8000/v1",
            "m",
            weight=i + 1,
            tier=0 if i < 8 else 1,
        )
        for i in range(10)
    )
    return Model(
        id=f"bench/{strategy}", name="x", cost=Cost(1, 1, 1), upstreams=upstreams, routing=strategy
    )


async def decide(router: Router, chosen: Model) -> None:
    """The router's work up to the first send (see Router.open), without sending."""
    targets = router.targets(chosen)
    now = time.time()
    for target in plan(targets, chosen.routing, router._rng):
        state = router.breakers.state(target.id, now)
        if state is OPEN:
            continue
        if await router.quotas.admit(target, "x", now):
            continue
        if state is not CLOSED and not await router.breakers.probe(target.id, now):
            continue
        return


async def measure(router: Router, chosen: Model, decisions: int) -> tuple[float, float]:
    timings = []
    clock = time.perf_counter_ns
    for _ in range(decisions):
        started = clock()
        await decide(router, chosen)
        timings.append(clock() - started)
    timings.sort()
    return statistics.median(timings) / 1e6, timings[int(len(timings) * 0.99)] / 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    args = parser.parse_args()
    router = Router(UpstreamClient(), lambda _: None)
    for strategy in STRATEGIES:
        chosen = model(strategy)
        p50, p99 = await measure(router, chosen, args.decisions)
        targets = router.targets(chosen)
        for target in targets[:3]:
            router.breakers.open_until[target.id] = time.time() + 3600
        skip50, skip99 = await measure(router, chosen, args.decisions)
        for target in targets[:3]:
            router.breakers.open_until.pop(target.id)
        print(
            f"{strategy:15} p50 {p50:.4f} ms (p99 {p99:.4f}); three open: p50 {skip50:.4f} ms "
            f"(p99 {skip99:.4f})  (target p50 <= 0.02 ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
