"""Every Redis use over TLS (``rediss://``) and a Unix socket (``unix://``), on servers of our own.

The limiter and spend counters (the pipelined client), the link's ping, change
notices (redis-py: publish, subscribe) and the CLI's ``publish_once``: one
instance writes, a second one — its own link over the same transport — sees it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from quantized.coordination.limits import RedisLimiter
from quantized.coordination.notices import ChangeNotices, publish_once
from quantized.coordination.redis import RedisLink
from quantized.coordination.resp import RespClient, RespUnavailable
from quantized.coordination.spend import RedisSpend
from quantized.limits import Limits
from quantized.usage.budgets import Budget, Reservation
from quantized.usage.windows import window_of
from tests.utils.network import RedisServer
from tests.utils.tls import TlsFiles, make_tls_files


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(unixsocket=tmp_path / "redis.sock", password="s3cret/pw").start()
    yield server
    server.stop()


@pytest.fixture(params=["optional", "yes"], ids=["tls", "mutual-tls"])
def tls_server(
    request: pytest.FixtureRequest, tls_files: TlsFiles, tmp_path: Path
) -> Iterator[RedisServer]:
    server = RedisServer(
        tls=tls_files, tls_auth_clients=request.param, unixsocket=tmp_path / "admin.sock"
    ).start()
    yield server
    server.stop()


async def eventually(probe: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def two_instances(url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first, second = RedisLink(url, prefix, timeout=1.0), RedisLink(url, prefix, timeout=1.0)
    await first.start()
    await second.start()
    received: list[int] = []

    async def on_notice() -> None:
        received.append(1)

    notices = ChangeNotices(second, on_notice)
    notices.start()
    try:
        assert first.available and second.available  # the monitors' pings answered
        limiter, elsewhere = RedisLimiter(first), RedisLimiter(second)
        limits = Limits(rpm=2, tpm=100)
        decisions = [await limiter.acquire("s", limits, f"r{i}", 10.0) for i in range(2)]
        assert [d.allowed for d in decisions] == [True, True]
        limiter.charge("s", 60, "r0", 10.5)
        await limiter.close()
        seen = await elsewhere.acquire("s", limits, "r2", 11.0)
        assert not seen.allowed and seen.requests_remaining == 0  # counted in Redis
        assert seen.tokens_remaining == 40
        budget = Budget(1, "key", "1", "", "month", 0, 100)
        window = window_of("month", 0, dt.date(2026, 11, 30), ZoneInfo("UTC"))
        nothing = Reservation("r", 0, (), ())
        await RedisSpend(first, 900).settle(nothing, [budget.counter], "2026-11-30", 7, [])
        seen = await RedisSpend(second, 900).settle(
            nothing, [], "2026-11-30", 0, [(budget, window)]
        )
        assert seen == [7]

        await eventually(lambda: notices.listening)
        await first.call(lambda: first.client.publish(f"{prefix}:changes", b"changed"))
        await eventually(lambda: len(received) == 1)
        await publish_once(url, prefix)  # the CLI's way, with a client of its own
        await eventually(lambda: len(received) == 2)
        assert first.available and second.available
    finally:
        await notices.stop()
        await first.stop()
        await second.stop()


def test_unix_socket_with_password_and_database(unix_server: RedisServer) -> None:
    asyncio.run(two_instances(unix_server.unix_url(db=3)))
    assert unix_server.command("DBSIZE") == b":0\r\n"  # nothing went to database 0...
    in_three = unix_server.command(
        "EVAL", "redis.call('SELECT', 3) return redis.call('DBSIZE')", "0"
    )
    assert in_three != b":0\r\n"  # ...all of it to database 3


def test_tls(tls_server: RedisServer, tls_files: TlsFiles) -> None:
    url = tls_server.url
    if tls_server.tls_auth_clients == "yes":
        url += f"&ssl_certfile={tls_files.client_cert}&ssl_keyfile={tls_files.client_key}"
    asyncio.run(two_instances(url))


async def reachable(url: str) -> tuple[bool, bool]:
    """Whether redis-py (the link's ping) and the pipelined client can talk to ``url``."""
    link = RedisLink(url, "test", timeout=0.5)
    await link.start()
    await link.stop()
    client = RespClient(url, timeout=0.5)
    try:
        return link.available, await client.execute("PING") == b"PONG"
    except RespUnavailable:
        return link.available, False
    finally:
        client.close()


def test_tls_is_verified(tls_server: RedisServer, tls_files: TlsFiles) -> None:
    port = tls_server.port
    client = ""
    if tls_server.tls_auth_clients == "yes":
        client = f"&ssl_certfile={tls_files.client_cert}&ssl_keyfile={tls_files.client_key}"
        assert asyncio.run(reachable(tls_server.url)) == (False, False)  # no client certificate
    assert asyncio.run(reachable(tls_server.url + client)) == (True, True)
    assert asyncio.run(reachable(f"redis://127.0.0.1:{port}/0")) == (False, False)  # plaintext
    assert asyncio.run(reachable(f"rediss://127.0.0.1:{port}/0")) == (False, False)  # unknown CA
    # the certificate names 127.0.0.1 and localhost, not 127.0.0.2
    other_name = f"rediss://127.0.0.2:{port}/0?ssl_ca_certs={tls_files.ca}{client}"
    assert asyncio.run(reachable(other_name)) == (False, False)
    no_hostname = other_name + "&ssl_check_hostname=false"
    assert asyncio.run(reachable(no_hostname)) == (True, True)
    unverified = f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none{client}"
    assert asyncio.run(reachable(unverified)) == (True, True)
