"""Routing through the real app against real fake upstreams: strategies, tiers, breakers,
retries, deadlines, quotas, and the headers and ledger rows that say what happened."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.catalogs import entry, write_catalog
from tests.utils.fleet import Member, fleet
from tests.utils.inprocess import InProcess, in_process
from tests.utils.processes import free_port

pytestmark = pytest.mark.anyio
HI = [{"role": "user", "content": "hi"}]


def upstream(member: Member | str, **fields: Any) -> dict[str, Any]:
    base = member.base_url if isinstance(member, Member) else member
    name = member.name if isinstance(member, Member) else "dead"
    return {"provider": "openai", "base_url": base, "model": "m", "name": name, **fields}


@pytest.fixture
def members() -> Iterator[dict[str, Member]]:
    with fleet("a", "b", "c") as started:
        yield started


def model(model_id: str, routing: str, *upstreams: dict[str, Any]) -> dict[str, Any]:
    return entry(model_id, routing=routing, upstreams=list(upstreams))


@pytest.fixture
async def gateway(
    tmp_path: Path, members: dict[str, Member], request: pytest.FixtureRequest
) -> AsyncIterator[InProcess]:
    a, b, c = members["a"], members["b"], members["c"]
    dead = f"http://127.0.0.1:{free_port()}/v1"
    catalog = write_catalog(
        tmp_path / "catalog.yaml",
        [
            model(
                "t/weighted",
                "weighted",
                upstream(a, weight=1),
                upstream(b, weight=3),
                upstream(c, weight=6),
            ),
            model("t/tiers", "ordered", upstream(a), upstream(b, tier=1)),
            model("t/latency", "latency", upstream(a), upstream(b)),
            model("t/inflight", "least_inflight", upstream(a), upstream(b)),
            model("t/one", "ordered", upstream(a)),
            model("t/dead", "ordered", upstream(dead), upstream(b)),
            model("t/quota", "ordered", upstream(a, rpm=5), upstream(b, tier=1)),
            model("t/quota-only", "ordered", upstream(c, rpm=2)),
        ],
    )
    settings = {
        "catalog_file": catalog,
        "breaker_failures": 3,
        "breaker_cooldown": 1.0,
        "upstream_timeout": 5.0,
        **getattr(request, "param", {}),
    }
    (tmp_path / "db").mkdir()
    async with in_process(tmp_path / "db", **settings) as running:
        yield running


async def chat(running: InProcess, model_id: str, **extra: Any) -> Any:
    headers = {**running.headers(), **extra.pop("headers", {})}
    return await running.client.post(
        "/v1/chat/completions", json={"model": model_id, "messages": HI, **extra}, headers=headers
    )


async def many(running: InProcess, model_id: str, total: int, width: int = 32) -> Counter[str]:
    served: Counter[str] = Counter()
    queue = iter(range(total))

    async def worker() -> None:
        for _ in queue:
            answer = await chat(running, model_id)
            assert answer.status_code == 200, answer.text
            served[answer.headers["x-quantized-upstream"]] += 1

    await asyncio.gather(*(worker() for _ in range(width)))
    return served


async def test_weights_hold_over_ten_thousand_requests(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    served = await many(gateway, "t/weighted", 10_000)
    assert sum(served.values()) == 10_000
    shares = {name: served[name] / 10_000 for name in "abc"}
    # 1:3:6 within 2 points (about four standard deviations at 10,000 requests)
    assert abs(shares["a"] - 0.1) < 0.02 and abs(shares["b"] - 0.3) < 0.02, shares
    assert abs(shares["c"] - 0.6) < 0.02, shares
    assert {n: members[n].count for n in "abc"} == {n: served[n] for n in "abc"}


async def test_a_tier_falls_to_the_next_and_a_sick_upstream_is_skipped_then_probed(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a = members["a"]
    a.status = 500
    for _ in range(3):  # three failures open a's breaker
        answer = await chat(gateway, "t/tiers")
        assert answer.status_code == 200
        assert answer.headers["x-quantized-upstream"] == "b"
        assert answer.headers["x-quantized-attempts"] == "2"
    assert a.count == 3
    skipped = await chat(gateway, "t/tiers")
    assert skipped.headers["x-quantized-attempts"] == "1" and a.count == 3  # a is left alone
    states = await gateway.client.get("/admin/v1/upstreams", headers=gateway.headers())
    by_name = {u["name"]: u for u in states.json()["data"]}
    assert by_name["a"]["state"] == "open" and 0 < by_name["a"]["retry_in"] <= 1.0
    assert by_name["b"]["state"] == "closed" and "t/tiers" in by_name["a"]["models"]

    a.status = 200  # it recovers; after the cooldown one request probes it
    await asyncio.sleep(1.05)
    probe = await chat(gateway, "t/tiers")
    assert probe.headers["x-quantized-upstream"] == "a" and a.count == 4
    states = await gateway.client.get("/admin/v1/upstreams", headers=gateway.headers())
    assert {u["name"]: u["state"] for u in states.json()["data"]}["a"] == "closed"


async def test_a_failed_probe_opens_the_breaker_again(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a = members["a"]
    a.status = 502
    for _ in range(3):
        await chat(gateway, "t/tiers")
    await asyncio.sleep(1.05)
    await chat(gateway, "t/tiers")  # the probe fails
    assert a.count == 4
    await chat(gateway, "t/tiers")
    assert a.count == 4  # open again: skipped


async def test_an_upstream_429_cools_it_down_for_its_retry_after_and_an_admin_resets_it(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a, b = members["a"], members["b"]
    a.status, a.retry_after = 429, 30
    first = await chat(gateway, "t/tiers")
    assert first.headers["x-quantized-upstream"] == "b" and a.count == 1
    for _ in range(3):
        assert (await chat(gateway, "t/tiers")).headers["x-quantized-upstream"] == "b"
    assert a.count == 1  # one 429 was enough: it asked for 30 s
    alone = await chat(gateway, "t/one")  # a model with no other upstream is told why
    assert alone.status_code == 429 and "a says 429" in alone.json()["error"]["message"]
    assert 25 <= int(alone.headers["retry-after"]) <= 30 and a.count == 1

    a.status, a.retry_after = 200, None
    reset = await gateway.client.post("/admin/v1/upstreams/a/reset", headers=gateway.headers())
    assert reset.status_code == 200 and reset.json()["state"] == "closed"
    assert (await chat(gateway, "t/tiers")).headers["x-quantized-upstream"] == "a"
    audit = await gateway.client.get("/admin/v1/audit", headers=gateway.headers())
    assert any(e["action"] == "upstream.reset" for e in audit.json()["data"])
    missing = await gateway.client.post("/admin/v1/upstreams/nope/reset", headers=gateway.headers())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "upstream_not_found"
    assert b.count == 4


@pytest.mark.parametrize("stream", [False, True])
async def test_a_short_retry_after_is_waited_for_on_the_same_upstream(
    gateway: InProcess, members: dict[str, Member], stream: bool
) -> None:
    a = members["a"]
    a.script, a.retry_after = [503], 1
    started = time.monotonic()
    answer = await chat(gateway, "t/one", stream=stream)
    assert answer.status_code == 200 and "from a" in answer.text
    assert answer.headers["x-quantized-attempts"] == "2" and a.count == 2
    assert time.monotonic() - started >= 1.0
    rows = await ledger(gateway, answer.headers["x-request-id"])
    assert rows == [(200, 2)]


async def test_a_refused_connection_is_retried_then_the_next_upstream_serves(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    answer = await chat(gateway, "t/dead")
    assert answer.status_code == 200
    assert answer.headers["x-quantized-upstream"] == "b"
    assert answer.headers["x-quantized-attempts"] == "4"  # three on the dead one, then b
    assert members["b"].count == 1


async def test_a_request_the_upstream_holds_is_never_sent_again(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    """a has the request and does not answer in time: it may be served (and billed) there,
    so neither a nor the next tier gets it again."""
    a, b = members["a"], members["b"]
    a.delay = 3.0
    answer = await chat(gateway, "t/tiers", headers={"x-quantized-deadline": "0.5"})
    assert answer.status_code == 504, answer.text
    assert answer.json()["error"]["code"] == "deadline_exceeded"
    assert answer.headers["x-quantized-attempts"] == "1"
    assert (a.count, b.count) == (1, 0)
    assert await ledger(gateway, answer.headers["x-request-id"]) == [(504, 1)]


async def test_the_deadline_bounds_retries(gateway: InProcess, members: dict[str, Member]) -> None:
    a = members["a"]
    a.script, a.retry_after = [503, 503, 503], 1
    started = time.monotonic()
    answer = await chat(gateway, "t/one", headers={"x-quantized-deadline": "1.5"})
    elapsed = time.monotonic() - started
    assert answer.status_code == 502 and elapsed < 1.5  # the second wait would pass it
    assert a.count == 2


async def test_a_bad_deadline_header_is_the_callers_error(gateway: InProcess) -> None:
    for value in ("soon", "0", "-1", "nan"):
        answer = await chat(gateway, "t/one", headers={"x-quantized-deadline": value})
        assert answer.status_code == 400
        assert answer.json()["error"]["param"] == "x-quantized-deadline"


async def test_latency_routing_moves_traffic_to_the_faster_upstream(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a, b = members["a"], members["b"]
    a.delay = 0.05
    served = await many(gateway, "t/latency", 300, width=4)
    assert served["b"] > 0.85 * 300, served
    a.delay, b.delay = 0.0, 0.05  # the other way round: exploration notices
    served = await many(gateway, "t/latency", 300, width=4)
    assert served["a"] > 0.6 * 300, served


async def test_least_inflight_prefers_the_idle_upstream(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a = members["a"]
    a.delay = 0.2
    served = await many(gateway, "t/inflight", 200, width=8)
    assert served["b"] > 0.8 * 200, served


async def test_a_provider_quota_sends_the_rest_elsewhere(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a, b = members["a"], members["b"]
    served = await many(gateway, "t/quota", 12, width=1)
    assert served == Counter({"a": 5, "b": 7}) and (a.count, b.count) == (5, 7)


@pytest.mark.parametrize("gateway", [{"upstream_quota_wait": 0.3}], indirect=True)
async def test_a_full_quota_with_nowhere_else_is_a_429_after_a_short_wait(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    assert [(await chat(gateway, "t/quota-only")).status_code for _ in range(2)] == [200, 200]
    started = time.monotonic()
    refused = await chat(gateway, "t/quota-only")
    assert time.monotonic() - started >= 0.3
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "upstream_quota_exhausted"
    assert int(refused.headers["retry-after"]) >= 1 and members["c"].count == 2


async def ledger(running: InProcess, request_id: str) -> list[tuple[int, int]]:
    import sqlite3

    path = running.database_url.removeprefix("sqlite:///")

    def read() -> list[tuple[int, int]]:
        with sqlite3.connect(path) as db:
            return db.execute(
                "SELECT status, attempts FROM usage WHERE request_id = ?", (request_id,)
            ).fetchall()

    for _ in range(100):
        rows = await asyncio.to_thread(read)
        if rows:
            return rows
        await asyncio.sleep(0.02)
    return []


async def test_a_probe_answered_with_a_client_error_closes_the_breaker(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    """A 400 is the request's fault, and proof that the upstream answers again."""
    a = members["a"]
    a.status = 500
    for _ in range(3):
        await chat(gateway, "t/tiers")
    await asyncio.sleep(1.05)
    a.status = 400
    probe = await chat(gateway, "t/tiers")
    assert probe.status_code == 400 and a.count == 4
    a.status = 200
    served = await chat(gateway, "t/tiers")
    assert served.headers["x-quantized-upstream"] == "a" and a.count == 5


async def test_a_callers_own_short_deadline_does_not_count_against_the_upstream(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a = members["a"]
    a.delay = 0.5
    for _ in range(4):  # more than the three failures that would open the breaker
        answer = await chat(gateway, "t/one", headers={"x-quantized-deadline": "0.1"})
        assert answer.status_code == 504
    a.delay = 0.0
    served = await chat(gateway, "t/one")
    assert served.status_code == 200 and a.count == 5  # still closed: a was never skipped


async def test_an_upstream_retry_after_is_bounded(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    a = members["a"]
    a.status, a.retry_after = 429, 999_999_999
    await chat(gateway, "t/tiers")
    states = await gateway.client.get("/admin/v1/upstreams", headers=gateway.headers())
    by_name = {u["name"]: u for u in states.json()["data"]}
    assert by_name["a"]["state"] == "open" and 250 < by_name["a"]["retry_in"] <= 300


async def test_an_upstream_gateway_timeout_is_never_sent_elsewhere(
    gateway: InProcess, members: dict[str, Member]
) -> None:
    """A 504 from the upstream's edge: the origin may be serving (and billing) it."""
    a, b = members["a"], members["b"]
    a.status = 504
    answer = await chat(gateway, "t/tiers")
    assert answer.status_code == 504 and (a.count, b.count) == (1, 0)
    assert answer.headers["x-quantized-attempts"] == "1"
