"""The upstream client against real servers: bodies, keep-alive, timeouts, no resend, size cap."""

from __future__ import annotations

import asyncio
import time

import pytest

from quantized.gateway.client import (
    UpstreamClient,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from quantized.gateway.client.origin import split_url
from quantized.gateway.client.pool import Pool
from tests.gateway.conftest import Run
from tests.utils.clients import fetch, open_client
from tests.utils.loops import until
from tests.utils.network import hanging_port
from tests.utils.processes import free_port
from tests.utils.raw_upstream import RawUpstream

JSON = [(b"content-type", b"application/json"), (b"authorization", b"Bearer k")]


def pool_of(client: UpstreamClient, url: str) -> Pool:
    return client.pool(split_url(url)[0])


async def post(client: UpstreamClient, url: str, body: bytes = b"{}") -> bytes:
    response = await client.post(url, JSON, body)
    assert response.status == 200
    return await response.read()


def test_sequential_requests_share_one_connection(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            for _ in range(3):
                assert await post(client, server.url("/ok")) == b"ok"
            pool = pool_of(client, server.url("/ok"))
            assert (pool.open, pool.idle) == (1, 1)

    with RawUpstream() as server:
        run(main(server))
    assert len(server.requests) == 3
    assert server.connections == 1
    first = server.requests[0]
    assert (first.method, first.target) == ("POST", "/ok")
    assert first.headers["host"] == f"127.0.0.1:{server.port}"
    assert first.headers["authorization"] == "Bearer k"
    assert first.headers["content-length"] == "2" and first.body == b"{}"


def test_content_length_chunked_and_streamed_bodies(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            response = await client.post(server.url("/ok"), JSON, b"{}")
            assert response.header(b"content-length") == b"2"
            assert response.header(b"content-type") == b"text/plain"  # names in lower case
            assert await response.read() == b"ok"
            response = await client.post(server.url("/chunked"), JSON, b"{}")
            assert response.header(b"transfer-encoding") == b"chunked"
            assert await response.read() == b"abbccc"
            response = await client.post(server.url("/big-chunked/300000"), JSON, b"{}")
            pieces = [piece async for piece in response.chunks()]
            assert b"".join(pieces) == b"x" * 300000 and all(pieces)
            assert await response.read() == b""  # read to the end already

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 1  # each response read to its end: the connection kept


def test_a_large_request_body_arrives_whole(run: Run) -> None:
    body = bytes(range(256)) * (5 * 4096)  # 5 MiB
    with RawUpstream() as server:
        assert run(fetch(server.url("/length"), body)) == b"%d" % len(body)
    assert server.requests[0].body == body


def test_an_interim_100_response_is_skipped(run: Run) -> None:
    with RawUpstream() as server:
        assert run(fetch(server.url("/continue"))) == b"ok"


def test_a_body_ended_by_closing_the_connection(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            assert await post(client, server.url("/until-eof")) == b"until the end"
            assert pool_of(client, server.url("/")).open == 0  # not kept: it is closed
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 2


def test_read_timeout_after_the_request_was_sent(run: Run) -> None:
    async def main(server: RawUpstream) -> UpstreamTimeout:
        async with open_client(read_timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await client.post(server.url("/silent"), JSON, b"{}")
            assert 0.25 < time.monotonic() - started < 3
            assert pool_of(client, server.url("/")).open == 0
            return caught.value

    with RawUpstream() as server:
        error = run(main(server))
    assert error.sent is True
    assert "within 0.3s" in str(error)
    assert len(server.requests) == 1


def test_connect_timeout_is_unsent(run: Run) -> None:
    async def main(port: int) -> UpstreamTimeout:
        async with open_client(connect_timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await client.post(f"http://127.0.0.1:{port}/ok", JSON, b"{}")
            assert 0.25 < time.monotonic() - started < 3
            assert pool_of(client, f"http://127.0.0.1:{port}/").open == 0  # its slot is back
            return caught.value

    with hanging_port() as port:
        error = run(main(port))
    assert error.sent is False
    assert "no connection" in str(error)


def test_a_refused_connection_is_unsent(run: Run) -> None:
    url = f"http://127.0.0.1:{free_port()}/ok"
    with pytest.raises(UpstreamUnreachable) as caught:
        run(fetch(url))
    assert caught.value.sent is False
    assert "cannot connect" in str(caught.value)


# The no-resend rule: a request goes out once. The only second chance is for a
# kept-alive connection the upstream had closed before anything was written to it.


def test_an_idle_connection_the_upstream_closed_is_not_used(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            pool = pool_of(client, server.url("/"))
            assert await post(client, server.url("/ok")) == b"ok"
            await until(lambda: server.idle_closed == 1 and pool.idle == 0)
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream(idle_timeout=0.1) as server:
        run(main(server))
    assert len(server.requests) == 2  # each sent once
    assert server.connections == 2  # the second on a new connection


def test_an_idle_connection_whose_transport_is_closing_is_not_used(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            pool = pool_of(client, server.url("/"))
            assert await post(client, server.url("/ok")) == b"ok"
            (idle,) = pool._idle
            assert idle._transport is not None
            idle._transport.close()  # closing, but connection_lost has not run yet
            assert not idle.closed
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream() as server:
        run(main(server))
    assert len(server.requests) == 2
    assert server.connections == 2


def test_a_request_read_then_dropped_is_not_sent_again(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            with pytest.raises(UpstreamUnreachable) as caught:
                await client.post(server.url("/drop"), JSON, b"{}")
            assert caught.value.sent is True
            assert "closed the connection" in str(caught.value)

    with RawUpstream() as server:
        run(main(server))
    assert [r.target for r in server.requests] == ["/drop"]


def test_a_reused_connection_dropped_after_the_request_is_not_retried(run: Run) -> None:
    """The case that used to bill twice: the old pool retried on a fresh connection."""

    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            assert await post(client, server.url("/ok")) == b"ok"
            with pytest.raises(UpstreamUnreachable) as caught:
                await client.post(server.url("/drop"), JSON, b"{}")
            assert caught.value.sent is True
            assert pool_of(client, server.url("/")).open == 0

    with RawUpstream() as server:
        run(main(server))
    assert [r.target for r in server.requests] == ["/ok", "/drop"]
    assert server.connections == 1


# The size cap of read()


def test_a_response_over_the_limit_is_refused(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client(max_response_bytes=100_000) as client:
            pool = pool_of(client, server.url("/"))
            assert len(await post(client, server.url("/big/100000"))) == 100_000  # at the limit
            for path in ("/big/100001", "/big-chunked/1000000"):
                response = await client.post(server.url(path), JSON, b"{}")
                with pytest.raises(UpstreamResponseTooLarge) as caught:
                    await response.read()
                assert caught.value.sent is True
                assert "larger than 100000 bytes" in str(caught.value)
                assert pool.open == 0  # the connection was dropped
            response = await client.post(server.url("/big/300000"), JSON, b"{}")
            assert sum([len(piece) async for piece in response.chunks()]) == 300_000  # not capped
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 3  # kept, dropped twice (reused, then new), kept


def test_abort_after_the_end_leaves_the_connection_alone(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client() as client:
            response = await client.post(server.url("/ok"), JSON, b"{}")
            assert await response.read() == b"ok"
            response.abort()  # the connection is back in the pool, maybe serving another request
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 1


def test_a_cancelled_request_gives_its_connection_back(run: Run) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client(max_connections_per_origin=1) as client:
            pool = pool_of(client, server.url("/"))
            waiting = asyncio.ensure_future(client.post(server.url("/silent"), JSON, b"{}"))
            await until(lambda: len(server.requests) == 1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert pool.open == 0
            assert await post(client, server.url("/ok")) == b"ok"

    with RawUpstream() as server:
        run(main(server))
    assert server.connections == 2
