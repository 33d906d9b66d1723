"""What a budget check costs a chat request: in process, and through the gateway.

1. In process: the work the pipeline does for a request under budgets (which budgets
   apply, the worst case, the reservation, and the settlement when it ends) against the
   same request with no budget, timed one request at a time; p50 and p99 of the
   difference. Budgets: 20,000 keys with a daily budget, 500 teams with a monthly budget
   and a per-model monthly one, people with weekly budgets — the caller is under four.
2. Through the gateway (``--http``): two gateways side by side, one without budgets and
   one where the caller's key, team and model have budgets too large to refuse; chat at
   16 connections to a fake upstream; p50 latency and requests/s of each, alternating.

    python bench/budget_check.py [--http] [--runs 3] [--duration 10]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from quantized.catalog.model import Cost, Model  # noqa: E402
from quantized.gateway.surfaces.chat import parse_chat_request  # noqa: E402
from quantized.gateway.worst_case import Reserve, worst_case  # noqa: E402
from quantized.usage.budgets import Budget, Budgets, scopes_of  # noqa: E402
from quantized.usage.ledger import UsageRecord  # noqa: E402

USD = 10**12
T = TypeVar("T")
BODY = b'{"model":"bench/gpt","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'


def organisation() -> Budgets:
    budgets = [Budget(i, "key", str(i), "", "day", 0, 1000 * USD) for i in range(1, 20_001)]
    n = 20_001
    for team in range(1, 501):
        budgets.append(Budget(n, "team", str(team), "", "month", 0, 10**6 * USD, True, (80, 100)))
        budgets.append(Budget(n + 1, "team", str(team), "bench/gpt", "month", 0, 10**5 * USD))
        n += 2
    for person in range(1, 5001):
        budgets.append(Budget(n, "person", f"p{person}@example.com", "", "week", 0, 500 * USD))
        n += 1
    found = Budgets()
    found.set_budgets(budgets)
    return found


def in_process(iterations: int = 50_000) -> tuple[float, float, float, float]:
    model = Model(
        id="bench/gpt",
        name="bench",
        cost=Cost(prompt=2.5, completion=10, input_cache_read=1.25),
        context_length=128_000,
    )
    request = parse_chat_request(BODY)
    rules = Reserve()

    def settled(coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine that does not suspend (no Redis) as an ``await`` would."""
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        raise RuntimeError("the reservation waited for something")

    def one(budgets: Budgets, n: int) -> float:
        scopes = scopes_of("key", "7", 3, "p3@example.com")
        started = time.perf_counter_ns()
        hard = budgets.hard(scopes, model.id)
        reservation = None
        if hard:
            amount = worst_case(request, model, len(BODY), rules, time.time())
            reservation = settled(budgets.reserve(f"r{n}", hard, amount, now))
        record = UsageRecord(
            f"r{n}", now, "2026-11-30", "key", "7", model.id, "u", 200, False,
            10, 0, 0, 64, 1_000_000, 1.0, False, None, 3, "p3@example.com",
        )  # fmt: skip
        budgets.charge(record, reservation)
        budgets.written([record])
        return (time.perf_counter_ns() - started) / 1e6

    now = time.time()
    with_budgets, without = organisation(), Budgets()
    times_with = [one(with_budgets, n) for n in range(iterations)]
    times_without = [one(without, n) for n in range(iterations)]
    q = statistics.quantiles
    return (
        statistics.median(times_with),
        q(times_with, n=100)[98],
        statistics.median(times_without),
        q(times_without, n=100)[98],
    )


def through_gateways(runs: int, duration: int) -> None:
    import fake_upstream
    from chat import BODY as CHAT_BODY
    from chat import LUA
    from common import admin_key, median, require, start_gateway, stop, wait_for, wrk

    require("wrk", "taskset")
    upstream_port = 18531
    upstream = fake_upstream.start(upstream_port)
    gateways: dict[str, tuple[subprocess.Popen[str], str, str]] = {}
    results: dict[str, list[object]] = {"no budgets": [], "key, team and model budgets": []}
    with tempfile.TemporaryDirectory(prefix="quantized-budgets-") as tmp:
        try:
            for port, name in enumerate(results, start=18532):
                work = Path(tmp) / str(port)
                work.mkdir()
                catalog = fake_upstream.write_catalog(work / "catalog.yaml", upstream_port)
                gateway = start_gateway(
                    work, port, QUANTIZED_CATALOG_FILE=str(catalog), BENCH_UPSTREAM_KEY="sk-bench"
                )
                key = admin_key(gateway)
                base = f"http://127.0.0.1:{port}"
                wait_for(f"{base}/v1/models", {"Authorization": f"Bearer {key}"})
                if name != "no budgets":
                    budget_everything(base, key)
                gateways[name] = (gateway, base, key)
            script = Path(tmp) / "post.lua"
            script.write_text(LUA.format(body=CHAT_BODY.decode()))
            for _ in range(runs):
                for name, (_, base, key) in gateways.items():
                    results[name].append(
                        wrk(
                            f"{base}/v1/chat/completions",
                            key,
                            duration,
                            16,
                            script=script,
                            core="0",
                        )
                    )
        finally:
            for gateway, _, _ in gateways.values():
                stop(gateway)
            fake_upstream.stop(upstream)
    for name, found in results.items():
        print(
            f"  {name:28} chat (16 conn) {median(found, 'rps'):8.0f} req/s, "  # type: ignore[arg-type]
            f"p50 {median(found, 'p50_ms'):.3f} ms"  # type: ignore[arg-type]
        )
    plain, budgeted = results.values()
    delta = median(budgeted, "p50_ms") - median(plain, "p50_ms")  # type: ignore[arg-type]
    ratio = median(budgeted, "rps") / median(plain, "rps")  # type: ignore[arg-type]
    per_request = 1000 / median(budgeted, "rps") - 1000 / median(plain, "rps")  # type: ignore[arg-type]
    print(
        f"  requests/s {ratio:.2f} of without budgets: {per_request:+.3f} ms of the gateway's "
        f"core per request; p50 at 16 connections {delta:+.3f} ms (queueing multiplies it)"
    )


def budget_everything(base: str, key: str) -> None:
    """Put the bench key in a team and give key, team and model budgets no request reaches."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as admin:
        team = admin.post("/admin/v1/teams", json={"name": "bench"}).json()
        me = admin.get("/admin/v1/keys").json()["data"][0]
        admin.patch(f"/admin/v1/keys/{me['id']}", json={"team_id": team["id"]}).raise_for_status()
        model = "bench/model"  # what chat.BODY asks for
        for budget in (
            {"scope": f"key:{me['id']}", "period": "day", "limit_usd": 1_000_000},
            {"scope": f"team:{team['id']}", "period": "month", "limit_usd": 1_000_000},
            {
                "scope": f"team:{team['id']}",
                "period": "week",
                "limit_usd": 1_000_000,
                "model": model,
            },
        ):
            admin.post("/admin/v1/budgets", json=budget).raise_for_status()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", action="store_true", help="also measure through gateways")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    p50_with, p99_with, p50_without, p99_without = in_process()
    print("In process, per request (which budgets apply, worst case, reserve, settle):")
    print(f"  under 4 budgets: p50 {p50_with:.4f} ms, p99 {p99_with:.4f} ms")
    print(f"  no budget:       p50 {p50_without:.4f} ms, p99 {p99_without:.4f} ms")
    print(f"  a budget check adds {p50_with - p50_without:.4f} ms p50  (target <= 0.05 ms)")
    if args.http:
        print("Through the gateway:")
        through_gateways(args.runs, args.duration)


if __name__ == "__main__":
    main()
