"""The per-origin connection limit: busy and idle together never exceed it; FIFO waiting."""

from __future__ import annotations

import asyncio
import time

import pytest

from quantized.gateway.client import UpstreamClient, UpstreamTimeout
from quantized.gateway.client.origin import split_url
from tests.gateway.conftest import Run
from tests.utils.clients import open_client
from tests.utils.loops import until
from tests.utils.raw_upstream import RawUpstream


async def body_of(client: UpstreamClient, url: str) -> bytes:
    response = await client.post(url, [], b"{}")
    return await response.read()


def test_requests_beyond_the_limit_wait_for_a_connection(run: Run) -> None:
    async def main(server: RawUpstream) -> list[bytes]:
        async with open_client(max_connections_per_origin=2, connect_timeout=5) as client:
            pool = client.pool(split_url(server.url("/"))[0])
            calls = [asyncio.ensure_future(body_of(client, server.url("/hold"))) for _ in range(3)]
            await until(lambda: len(server.requests) == 2 and pool.waiting == 1)
            assert (server.open, pool.open) == (2, 2)
            assert not any(call.done() for call in calls)
            server.release()  # one answer: its connection goes straight to the waiting request
            await until(lambda: len(server.requests) == 3)
            server.release(2)
            results = await asyncio.gather(*calls)
            assert (pool.open, pool.idle, pool.waiting) == (2, 2, 0)
            return results

    with RawUpstream() as server:
        assert run(main(server)) == [b"held"] * 3
    assert server.connections == 2
    assert server.max_open == 2


def test_waiters_are_served_in_arrival_order(run: Run) -> None:
    async def main(server: RawUpstream) -> list[int]:
        async with open_client(max_connections_per_origin=1, connect_timeout=5) as client:
            pool = client.pool(split_url(server.url("/"))[0])
            finished: list[int] = []

            async def call(index: int) -> None:
                await body_of(client, server.url("/hold"))
                finished.append(index)

            first = asyncio.ensure_future(call(0))
            await until(lambda: len(server.requests) == 1)
            others = []
            for index in range(1, 4):
                others.append(asyncio.ensure_future(call(index)))
                await until(lambda: pool.waiting == len(others))
            server.release(4)
            await asyncio.gather(first, *others)
            return finished

    with RawUpstream() as server:
        assert run(main(server)) == [0, 1, 2, 3]
    assert server.connections == 1


def test_a_full_origin_times_out_unsent(run: Run) -> None:
    async def main(server: RawUpstream) -> UpstreamTimeout:
        async with open_client(max_connections_per_origin=1, connect_timeout=0.3) as client:
            pool = client.pool(split_url(server.url("/"))[0])
            held = asyncio.ensure_future(body_of(client, server.url("/hold")))
            await until(lambda: len(server.requests) == 1)
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await client.post(server.url("/ok"), [], b"{}")
            assert 0.25 < time.monotonic() - started < 3
            assert pool.waiting == 0
            server.release()
            assert await held == b"held"
            assert await body_of(client, server.url("/ok")) == b"ok"  # the queue still works
            return caught.value

    with RawUpstream() as server:
        error = run(main(server))
    assert error.sent is False
    assert "all 1 connections" in str(error) and "busy" in str(error)
    assert [r.target for r in server.requests] == ["/hold", "/ok"]
    assert server.connections == 1


def test_a_closed_connection_gives_its_slot_to_the_next_in_line(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client(max_connections_per_origin=1, connect_timeout=5) as client:
            pool = client.pool(split_url(server.url("/"))[0])
            held = asyncio.ensure_future(body_of(client, server.url("/silent")))
            await until(lambda: len(server.requests) == 1)
            waiting = asyncio.ensure_future(body_of(client, server.url("/ok")))
            await until(lambda: pool.waiting == 1)
            held.cancel()  # its connection is dropped: the waiting request may open one
            assert await waiting == b"ok"
            assert pool.open == 1

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 2
    assert server.max_open <= 2  # the dropped one may not have been reaped yet


def test_origins_have_separate_limits(run: Run) -> None:
    async def main(busy: RawUpstream, other: RawUpstream) -> None:
        async with open_client(max_connections_per_origin=1, connect_timeout=5) as client:
            held = asyncio.ensure_future(body_of(client, busy.url("/hold")))
            await until(lambda: len(busy.requests) == 1)
            assert await body_of(client, other.url("/ok")) == b"ok"
            busy.release()
            assert await held == b"held"

    with RawUpstream() as busy, RawUpstream() as other:
        run(main(busy, other))
