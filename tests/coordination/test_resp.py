"""The pipelined RESP client, against real Redis servers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from quantized.coordination.resp import (
    RespClient,
    RespError,
    RespTimeout,
    RespUnavailable,
    encode,
)
from tests.utils.network import RedisServer, SilentServer

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def test_encode() -> None:
    assert (
        encode(("SET", "k", 12, b"v")) == b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$1\r\nv\r\n"
    )


def test_commands_pipelining_scripts_and_errors() -> None:
    async def scenario() -> None:
        client = RespClient(SHARED_REDIS, timeout=1.0)
        key = f"test-resp-{uuid.uuid4().hex}"
        try:
            assert await client.execute("SET", key, 5) == b"OK"
            results = await asyncio.gather(*(client.execute("INCR", key) for _ in range(500)))
            assert sorted(results) == list(range(6, 506))  # all in flight at once, all answered
            assert await client.execute("GET", key) == b"505"
            script = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
            assert await client.evalsha(script, [key], [10]) == 515
            assert await client.evalsha(script, [key], [1]) == 516  # now by digest
            with pytest.raises(RespError, match="WRONGTYPE|ERR"):
                await client.execute("LPUSH", key, "x")
            assert await client.execute("DEL", key) == 1
        finally:
            client.close()

    asyncio.run(scenario())


def test_unavailable_then_back() -> None:
    async def scenario(server: RedisServer) -> None:
        client = RespClient(server.url, timeout=0.5)
        assert await client.execute("PING") == b"PONG"
        server.stop()
        with pytest.raises(RespUnavailable):
            await client.execute("PING")
        server.start()
        assert await client.execute("PING") == b"PONG"  # reconnected by itself
        client.close()

    server = RedisServer().start()
    try:
        asyncio.run(scenario(server))
    finally:
        server.stop()


def test_a_connection_redis_dropped_is_replaced_without_an_error() -> None:
    """Redis restarted (or killed the connection) while the client was idle: the first
    commands find the connection dead and are sent again on a new one."""

    async def scenario(server: RedisServer) -> None:
        client = RespClient(server.url, timeout=1.0)
        try:
            first = await client.execute("CLIENT", "ID")
            server.stop()  # blocking: the event loop does not run, nothing notices
            server.start()
            assert await client.execute("SET", "k", "v") == b"OK"
            assert await client.execute("GET", "k") == b"v"
            server.command("CLIENT", "KILL", "TYPE", "normal")  # idle connection killed
            replies = await asyncio.gather(*(client.execute("INCR", "n") for _ in range(50)))
            assert sorted(replies) == list(range(1, 51))  # every one sent once, all answered
            assert await client.execute("CLIENT", "ID") != first
        finally:
            client.close()

    server = RedisServer().start()
    try:
        asyncio.run(scenario(server))
    finally:
        server.stop()


def test_a_timeout_is_not_retried() -> None:
    async def scenario(server: SilentServer) -> None:
        client = RespClient(f"redis://127.0.0.1:{server.port}/0", timeout=0.2)
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(RespTimeout):
                await client.execute("INCR", "n")
            assert asyncio.get_running_loop().time() - started < 1.0
            assert server.accepted == 1  # its effect is unknown: not sent again
            with pytest.raises(RespTimeout):
                await client.execute("PING")  # the next command starts over
            assert server.accepted == 2
        finally:
            client.close()

    server = SilentServer().start()
    try:
        asyncio.run(scenario(server))
    finally:
        server.stop()


def test_error_replies_leave_the_connection_usable() -> None:
    async def scenario() -> None:
        client = RespClient(SHARED_REDIS, timeout=1.0)
        key = f"test-resp-{uuid.uuid4().hex}"
        try:
            await client.execute("LPUSH", key, "x")
            results = await asyncio.gather(
                client.execute("INCR", key),
                client.evalsha("return redis.call('NOPE')", [], []),
                client.execute("LLEN", key),
                return_exceptions=True,
            )
            assert isinstance(results[0], RespError) and str(results[0]).startswith("WRONGTYPE")
            assert isinstance(results[1], RespError) and "Unknown Redis command" in str(results[1])
            assert results[2] == 1  # replies stayed in step
        finally:
            await client.execute("DEL", key)
            client.close()

    asyncio.run(scenario())
