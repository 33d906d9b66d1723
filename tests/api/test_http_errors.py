"""Paths, methods and oversized or malformed requests: 4xx in the OpenAI shape, never 5xx."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from tests.utils.keys import Keys
from tests.utils.processes import Gateway


def assert_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


def raw_request(gateway: Gateway, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("path", ["/v1", "/v1/model", "/v1/models/", "/v2/models", "/uix"])
def test_unknown_paths_are_404(gateway: Gateway, keys: Keys, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {keys.plain}"})
    assert_error(response, 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_methods_are_405(gateway: Gateway, keys: Keys, method: str) -> None:
    for path in ("/v1/models", "/v1/models/openai/gpt-4.1", "/healthz"):
        response = httpx.request(
            method, f"{gateway.url}{path}", headers={"Authorization": f"Bearer {keys.plain}"}
        )
        assert_error(response, 405)
        assert "GET" in response.headers["allow"]


def test_huge_header_is_431(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}", "X-Padding": "a" * 200_000},
    )
    assert_error(response, 431)


def test_too_many_headers_is_431(gateway: Gateway, keys: Keys) -> None:
    headers = {f"X-H{i}": "1" for i in range(500)}
    headers["Authorization"] = f"Bearer {keys.plain}"
    assert_error(httpx.get(f"{gateway.url}/v1/models", headers=headers), 431)


def test_huge_url_is_414(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models/{'x' * 20_000}",
        headers={"Authorization": f"Bearer {keys.plain}"},
    )
    assert_error(response, 414)


def test_huge_bearer_token_is_401(gateway: Gateway) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models", headers={"Authorization": "Bearer " + "x" * 20_000}
    )
    assert_error(response, 401)


def test_body_on_get_is_ignored(gateway: Gateway, keys: Keys) -> None:
    response = httpx.request(
        "GET",
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}"},
        content=b"x" * 1_000_000,
    )
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_large_body_on_unknown_path_is_404(gateway: Gateway) -> None:
    response = httpx.post(f"{gateway.url}/v1/anything", content=b"x" * 5_000_000)
    assert_error(response, 404)


def test_malformed_http_is_400(gateway: Gateway) -> None:
    reply = raw_request(gateway, b"GARBAGE\x00\x01 / HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    assert b'"error"' in reply


def test_keep_alive_and_pipelining_keep_responses_in_order(gateway: Gateway, keys: Keys) -> None:
    auth = f"Authorization: Bearer {keys.plain}\r\n".encode()
    requests = (
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /v1/models/openai/no-such HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + b"\r\n"
    )
    reply = raw_request(gateway, requests)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)
    assert statuses == [b"200", b"200", b"404", b"200"]


def test_http_1_0_closes_after_the_response(gateway: Gateway, keys: Keys) -> None:
    reply = raw_request(
        gateway,
        b"GET /v1/models HTTP/1.0\r\nAuthorization: Bearer " + keys.plain.encode() + b"\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"connection: close" in reply.lower()


def test_healthz(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
