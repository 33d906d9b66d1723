"""Connection limits on every route: header and keep-alive timeouts, a connection cap, body
limits (the fast path included), and pipelined requests followed by a half-close."""

from __future__ import annotations

import os
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import Gateway, quantized_env, start_gateway, wait_until
from tests.utils.raw import (
    closed_within,
    connect,
    exchange,
    parse,
    read_all,
    read_response,
    request,
)

LIMITS = {
    "QUANTIZED_HEADER_TIMEOUT": "1",
    "QUANTIZED_KEEPALIVE_TIMEOUT": "1",
    "QUANTIZED_MAX_BODY_BYTES": "100000",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("limits")
    gateway = start_gateway(quantized_env(f"sqlite:///{workdir / 'q.db'}", **LIMITS), workdir)
    yield gateway
    gateway.stop()


def auth(gateway: Gateway) -> str:
    return f"Authorization: Bearer {gateway.admin_key}"


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    server: Gateway,
) -> None:
    with connect(server.port) as sock:
        data, took = closed_within(sock, 5)
    assert data == b""
    assert 0.8 < took < 3


def test_a_slowloris_gets_408_and_is_closed(server: Gateway) -> None:
    with connect(server.port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
        reply = b""
        for _ in range(40):
            try:
                sock.sendall(b"X")
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                reply += sock.recv(65536)
            except TimeoutError:
                continue
            if reply:
                break
        reply += read_all(sock)
    assert time.monotonic() - started < 3
    (response,) = parse(reply)
    assert response.status == 408
    assert b'"code":"request_timeout"' in response.body
    assert response.header("connection") == "close"


def test_an_idle_keep_alive_connection_is_closed(server: Gateway) -> None:
    with connect(server.port) as sock:
        sock.sendall(request("GET", "/healthz"))
        assert read_response(sock).status == 200
        data, took = closed_within(sock, 5)
    assert data == b"" and 0.5 < took < 3


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server: Gateway) -> None:
    for method, path in (
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/admin/v1/models"),
        ("POST", "/nowhere"),
    ):
        head = request(method, path, "Content-Length: 1000000000000")
        started = time.monotonic()
        (response,) = parse(exchange(server.port, head, timeout=5))
        assert response.status == 413, path
        assert time.monotonic() - started < 2
        assert b'"code":"payload_too_large"' in response.body


def test_expect_100_continue_over_the_limit_gets_413_not_continue(server: Gateway) -> None:
    head = request(
        "POST",
        "/v1/chat/completions",
        auth(server),
        "Expect: 100-continue",
        "Content-Length: 5000000",
    )
    reply = exchange(server.port, head, timeout=5)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"100 Continue" not in reply


def test_a_chunked_body_over_the_limit_on_the_fast_path_is_cut_off(server: Gateway) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"GET /v1/models HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            + auth(server).encode()
            + b"\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        sent = 0
        try:
            while sent < 50_000_000:
                sock.sendall(chunk)
                sent += 65536
        except OSError:
            pass  # the server closed the connection: good
        reply = read_all(sock)
    assert sent < 5_000_000  # it stopped reading long before 50 MB
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_chunked_chat_body_over_the_limit_is_413(server: Gateway) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"model": "openai/gpt-4.1-nano", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 20_000
        yield b'"}]}'

    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {server.admin_key}"},
        content=body(),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_pipelined_requests_then_a_half_close_get_every_answer(server: Gateway) -> None:
    key = auth(server)
    requests = b"".join(
        [
            request("GET", "/v1/models", key),
            request("GET", "/healthz"),
            request("GET", "/v1/models/openai/no-such", key),
            request("GET", "/readyz"),
            request("GET", "/v1/models/openai/gpt-4.1-nano", key),
        ]
    )
    for _ in range(20):
        responses = parse(exchange(server.port, requests, half_close=True, timeout=5))
        assert [r.status for r in responses] == [200, 200, 404, 200, 200]
        assert len({r.header("x-request-id") for r in responses}) == 5
    assert "Traceback" not in server.log()


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[Gateway]:
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}", QUANTIZED_MAX_CONNECTIONS="8", **LIMITS)
    gateway = start_gateway(env, tmp_path)
    yield gateway
    gateway.stop()


def test_past_the_connection_cap_new_clients_get_503_at_once(capped: Gateway) -> None:
    held = [connect(capped.port) for _ in range(8)]
    try:
        wait_until(lambda: _open_sockets(capped) >= 8, timeout=5)
        started = time.monotonic()
        (response,) = parse(exchange(capped.port, request("GET", "/healthz"), timeout=5))
        assert response.status == 503 and time.monotonic() - started < 1
        assert b'"code":"server_busy"' in response.body
    finally:
        for sock in held:
            sock.close()
    assert httpx.get(f"{capped.url}/healthz").status_code == 200


def _open_sockets(gateway: Gateway) -> int:
    """Sockets the server holds now; a descriptor closed while we look is not counted."""
    count = 0
    for fd in Path(f"/proc/{gateway.process.pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except FileNotFoundError:
            continue
    return count


def test_thousands_of_idle_and_slow_sockets_cannot_lock_clients_out(tmp_path: Path) -> None:
    """With 1,024 descriptors, 2,000 idle sockets and 200 slowloris connections: new clients
    get a 503 at once instead of silence, the server never runs out of descriptors, and once
    the header timeout passes it serves again and has closed them all."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}", QUANTIZED_HEADER_TIMEOUT="2")
    gateway = start_gateway(env, tmp_path, open_files=1024)
    held: list[socket.socket] = []
    try:
        baseline = _open_sockets(gateway)
        for _ in range(2000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", gateway.port))
            held.append(sock)
        slow = [connect(gateway.port) for _ in range(200)]
        for sock in slow:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHo")
        held += slow
        started = time.monotonic()
        reply = exchange(gateway.port, request("GET", "/healthz"), timeout=5)
        assert time.monotonic() - started < 2
        assert reply.startswith((b"HTTP/1.1 503", b"HTTP/1.1 200"))
        assert _open_sockets(gateway) < 1024

        def serves() -> bool:
            try:
                return httpx.get(f"{gateway.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(serves, timeout=15)
        wait_until(lambda: _open_sockets(gateway) <= baseline + 2, timeout=15)
        assert "Too many open files" not in gateway.log()
    finally:
        for sock in held:
            sock.close()
        gateway.stop()
