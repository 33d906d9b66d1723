"""The Redis link: dead pooled connections after a restart, error replies, the notice listener."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest

from quantized.coordination.limits import RedisLimiter
from quantized.coordination.notices import ChangeNotices
from quantized.coordination.redis import RedisDown, RedisLink, RedisRefused
from quantized.coordination.spend import RedisSpend
from quantized.limits import Limits
from quantized.usage.budgets import Budget, Reservation
from quantized.usage.windows import window_of
from tests.utils.network import RedisServer


def with_link(
    scenario: Callable[[RedisLink, RedisServer], Awaitable[None]], **server: object
) -> None:
    redis = RedisServer(**server).start()  # type: ignore[arg-type]

    async def main() -> None:
        link = RedisLink(redis.url, "test", timeout=0.5)
        await link.start()
        assert link.available
        try:
            await scenario(link, redis)
        finally:
            await link.stop()

    try:
        asyncio.run(main())
    finally:
        redis.stop()


async def eventually(probe: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_dead_pooled_connections_after_a_restart_do_not_mark_redis_down() -> None:
    async def scenario(link: RedisLink, redis: RedisServer) -> None:
        async def publish() -> int:
            return await link.call(lambda: link.client.publish("test:changes", b"x"))

        await asyncio.gather(*(publish() for _ in range(8)))  # several pooled connections
        await link.command("PING")
        redis.stop()  # blocking: nothing in this process notices
        redis.start()
        assert await asyncio.gather(*(publish() for _ in range(8))) == [0] * 8
        assert await link.command("SET", "k", "v") == b"OK"
        assert link.available

    with_link(scenario)


def test_a_failure_on_a_fresh_connection_marks_redis_down() -> None:
    async def scenario(link: RedisLink, redis: RedisServer) -> None:
        redis.stop()
        with pytest.raises(RedisDown):
            await link.command("PING")
        assert not link.available
        redis.start()
        await eventually(lambda: link.available)  # the monitor's ping brings it back
        assert await link.command("PING") == b"PONG"

    with_link(scenario)


def test_error_replies_fall_back_without_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(link: RedisLink, redis: RedisServer) -> None:
        limiter = RedisLimiter(link)
        spend = RedisSpend(link, 900)
        budget = Budget(1, "key", "1", "", "day", 0, 100)
        window = window_of("day", 0, dt.date(2026, 11, 30), ZoneInfo("UTC"))
        nothing = Reservation("r0", 0, (), ())
        await spend.settle(nothing, [budget.counter], "2026-11-30", 5, [])
        redis.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        redis.command("CONFIG", "SET", "maxmemory", "1")
        with pytest.raises(RedisRefused):
            await link.command("SET", "k", "v")
        held = Reservation("r1", 1, (budget.counter,), (budget,))
        assert await spend.reserve(held, [(budget, window, 0)], 100.0) is None  # no exception
        assert await spend.settle(nothing, [budget.counter], "2026-11-30", 5, []) is None
        reads = await spend.settle(nothing, [], "2026-11-30", 0, [(budget, window)])
        assert reads == [5]  # reads still work
        limiter.charge("u", 10, "x", 101.0)
        await limiter.close()  # the batched charge is refused: counted here instead
        assert link.available  # Redis answers: not an outage, /readyz stays 200
        redis.command("CONFIG", "SET", "maxmemory", "0")
        # a key of the wrong type (here: the caller's request log) is refused on every call:
        # the limiter counts in this process
        redis.command("SET", "test:rl:req:t", "not a sorted set")
        decisions = [await limiter.acquire("t", Limits(rpm=2), r, 102.0) for r in "abc"]
        assert [d.allowed for d in decisions] == [True, True, False]
        # a spend counter someone overwrote: the script fails (ERR), this process counts alone
        redis.command("SET", "test:spend:key:1.2:0.:2026-11-30", "twelve")  # key 2's, today
        other = Budget(2, "key", "2", "", "day", 0, 100)
        mine = Reservation("r2", 1, (other.counter,), (other,))
        assert await spend.reserve(mine, [(other, window, 0)], 100.0) is None
        assert link.available

    caplog.set_level(logging.WARNING, "quantized.redis")
    with_link(scenario)
    refusals = [r.getMessage() for r in caplog.records if "with an error (" in r.getMessage()]
    kinds = [m.split("(", 1)[1].split(" ", 1)[0] for m in refusals]
    assert kinds == ["OOM", "WRONGTYPE", "ERR"], refusals  # each once, though repeated


def test_the_notice_listener_survives_a_killed_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario(link: RedisLink, redis: RedisServer) -> None:
        received: list[int] = []

        async def on_notice() -> None:
            received.append(1)

        async def delivered() -> None:
            """Publish until the listener gets one (it may be resubscribing)."""
            before = len(received)
            deadline = asyncio.get_running_loop().time() + 5
            while len(received) == before:
                assert asyncio.get_running_loop().time() < deadline, "no notice arrived"
                await notices.publish()
                await asyncio.sleep(0.02)

        notices = ChangeNotices(link, on_notice)
        notices.start()
        try:
            await eventually(lambda: notices.listening)
            await delivered()
            redis.command("CLIENT", "KILL", "TYPE", "pubsub")
            await delivered()
            assert link.available and notices.listening
        finally:
            await notices.stop()

    caplog.set_level(logging.WARNING, "quantized.redis")
    with_link(scenario)
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
