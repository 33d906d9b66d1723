"""Both limiters: the sliding minute, both limits, and atomicity under concurrency (real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from quantized.coordination.limits import RedisLimiter
from quantized.coordination.redis import RedisLink
from quantized.limits import Limits, RateLimiter
from quantized.limits.local import LocalLimiter

SHARED_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["local", "redis"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def run(kind: str, scenario: object) -> object:
    async def main() -> object:
        limiter: RateLimiter
        link = None
        if kind == "redis":
            link = RedisLink(SHARED_REDIS, f"test-{uuid.uuid4().hex[:8]}", timeout=1.0)
            await link.start()
            assert link.available
            limiter = RedisLimiter(link)
        else:
            limiter = LocalLimiter()
        try:
            return await scenario(limiter)  # type: ignore[operator]
        finally:
            if link is not None:
                await link.stop()

    return asyncio.run(main())


def test_requests_per_minute_over_a_sliding_window(kind: str) -> None:
    async def scenario(limiter: RateLimiter) -> None:
        limits = Limits(rpm=3)
        decisions = [await limiter.acquire("s", limits, f"r{i}", 1000.0 + i) for i in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.requests_remaining for d in decisions] == [2, 1, 0, 0]
        assert decisions[3].retry_after == pytest.approx(57.0)  # the first leaves at 1060
        assert (await limiter.acquire("s", limits, "r5", 1059.5)).allowed is False
        assert (await limiter.acquire("s", limits, "r6", 1060.5)).allowed is True
        assert (await limiter.acquire("other", limits, "r7", 1060.5)).allowed is True

    run(kind, scenario)


def test_tokens_per_minute(kind: str) -> None:
    async def scenario(limiter: RateLimiter) -> None:
        limits = Limits(tpm=100)
        assert (await limiter.acquire("s", limits, "a", 0.0)).allowed
        limiter.charge("s", 70, "a", 1.0)
        second = await limiter.acquire("s", limits, "b", 2.0)
        assert second.allowed and second.tokens_remaining == 30
        limiter.charge("s", 40, "b", 3.0)
        third = await limiter.acquire("s", limits, "c", 4.0)
        assert not third.allowed and third.reason == "100 tokens per minute"
        assert third.retry_after == pytest.approx(57.0)  # the 70 leave at 61
        assert (await limiter.acquire("s", limits, "d", 61.5)).allowed

    run(kind, scenario)


def test_concurrent_requests_cannot_pass_together(kind: str) -> None:
    async def scenario(limiter: RateLimiter) -> int:
        limits = Limits(rpm=50)
        decisions = await asyncio.gather(
            *(limiter.acquire("busy", limits, f"r{i}", 500.0) for i in range(200))
        )
        return sum(d.allowed for d in decisions)

    assert run(kind, scenario) == 50


def test_redis_limiter_falls_back_when_redis_is_away() -> None:
    async def main() -> tuple[bool, bool]:
        link = RedisLink("redis://127.0.0.1:1/0", "unreachable", timeout=0.2)
        await link.start()
        limiter = RedisLimiter(link)
        open_decision = await limiter.acquire("s", Limits(rpm=1), "a", 0.0)
        closed = RedisLimiter(link, fail_closed=True)
        try:
            await closed.acquire("s", Limits(rpm=1), "b", 0.0)
            refused = False
        except Exception as exc:  # noqa: BLE001 - the error class is what is checked
            refused = type(exc).__name__ == "ServiceUnavailableError"
        await link.stop()
        return open_decision.allowed, refused

    assert asyncio.run(main()) == (True, True)


def test_token_charges_reach_other_instances_without_a_round_trip_each() -> None:
    async def main() -> None:
        prefix = f"test-{uuid.uuid4().hex[:8]}"
        links = [RedisLink(SHARED_REDIS, prefix, timeout=1.0) for _ in range(2)]
        for link in links:
            await link.start()
        here, there = RedisLimiter(links[0]), RedisLimiter(links[1])
        limits = Limits(tpm=100)
        try:
            for n in range(3):
                here.charge("s", 20, f"r{n}", 10.0)  # synchronous: nothing awaited
            deadline = asyncio.get_running_loop().time() + 2
            while (await there.acquire("s", limits, "x", 11.0)).tokens_remaining != 40:
                assert asyncio.get_running_loop().time() < deadline, "charges never arrived"
                await asyncio.sleep(0.005)
            here.charge("s", 30, "r3", 12.0)
            await here.close()  # at shutdown: whatever waits is sent now
            assert (await there.acquire("s", limits, "y", 13.0)).tokens_remaining == 10
        finally:
            for link in links:
                await link.stop()

    asyncio.run(main())


def test_charges_are_counted_here_while_redis_is_away() -> None:
    async def main() -> tuple[bool, bool]:
        link = RedisLink("redis://127.0.0.1:1/0", "unreachable", timeout=0.2)
        await link.start()
        limiter = RedisLimiter(link)
        first = await limiter.acquire("s", Limits(tpm=50), "a", 0.0)
        limiter.charge("s", 60, "a", 1.0)
        await limiter.close()
        second = await limiter.acquire("s", Limits(tpm=50), "b", 2.0)
        await link.stop()
        return first.allowed, second.allowed

    assert asyncio.run(main()) == (True, False)
