"""The HTTP protocols directly, in this process, on a real socket pair: the fast protocol's
answers and hand-offs, its error boundary, and the head limits."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from quantized.server.fast import FastProtocol
from tests.utils.inprocess import InProcess, in_process
from tests.utils.raw import parse, request

pytestmark = pytest.mark.anyio


@dataclass
class Wire:
    """The client's end of a connection served by a fresh ``QuantizedProtocol``."""

    sock: socket.socket
    protocol: FastProtocol

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def read(self, responses: int, timeout: float = 5.0) -> bytes:
        data = b""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while len(parse(data)) < responses or not _complete(data):
                chunk = await loop.sock_recv(self.sock, 65536)
                if not chunk:
                    break
                data += chunk
        return data


def _complete(data: bytes) -> bool:
    try:
        last = parse(data)[-1]
    except (IndexError, ValueError):
        return False
    return len(last.body) >= int(last.header("content-length") or 0)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[InProcess]:
    async with in_process(tmp_path, header_timeout=0.5) as running:
        yield running


async def connect(app: InProcess) -> Wire:
    config = Config(app=app.app, http=FastProtocol, lifespan="off", log_config=None)
    config.load()
    state = ServerState()
    server_end, client_end = socket.socketpair()
    client_end.setblocking(False)
    loop = asyncio.get_running_loop()
    _, protocol = await loop.connect_accepted_socket(
        lambda: FastProtocol(config, state, {}), server_end
    )
    return Wire(client_end, protocol)


async def test_pipelined_fast_and_asgi_requests_are_answered_in_order(app: InProcess) -> None:
    wire = await connect(app)
    bearer = f"Authorization: Bearer {app.admin_key}"
    await wire.send(
        request("GET", "/v1/models", bearer)
        + request("GET", "/healthz")
        + request("GET", "/v1/models/openai/nope", bearer)
        + request("GET", "/v1/models/openai/gpt-4.1-nano", bearer)
    )
    responses = parse(await wire.read(4))
    assert [r.status for r in responses] == [200, 200, 404, 200]
    assert all(r.header("x-request-id") for r in responses)
    assert b'"code":"model_not_found"' in responses[2].body


async def test_a_bug_on_the_fast_path_is_a_500_with_a_request_id(
    app: InProcess, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(app.app.models, "respond", broken)
    wire = await connect(app)
    with caplog.at_level(logging.ERROR, logger="quantized.api"):
        await wire.send(request("GET", "/v1/models", f"Authorization: Bearer {app.admin_key}"))
        (response,) = parse(await wire.read(1))
    assert response.status == 500
    assert b'"code":"internal_error"' in response.body and b"KeyError" not in response.body
    request_id = response.header("x-request-id")
    assert request_id and any(request_id in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /v1/models/" + b"x" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /v1/models HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"GARBAGE\x00 / HTTP/1.1\r\n\r\n", 400),
    ],
)
async def test_bad_heads_are_answered_and_closed(app: InProcess, data: bytes, status: int) -> None:
    wire = await connect(app)
    await wire.send(data)
    (response,) = parse(await wire.read(1))
    assert response.status == status
    assert response.header("connection") == "close"
    assert response.header("x-request-id")


async def test_a_silent_connection_is_closed_by_the_header_timer(app: InProcess) -> None:
    wire = await connect(app)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(3):
        assert await loop.sock_recv(wire.sock, 1024) == b""
    assert wire.protocol._transport.is_closing()  # noqa: SLF001
