"""The pipelined RESP client, against real Redis servers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from quantized.coordination.resp import RespClient, RespError, RespUnavailable, encode
from tests.utils.network import RedisServer

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
