"""The models routes' own protocol: what it answers, what it hands to the full protocol (with
every byte not yet answered), and that a key revoked a moment ago is refused at once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.utils.processes import Gateway, quantized_env, start_gateway
from tests.utils.raw import connect, exchange, parse, read_response, request


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("fast")
    gateway = start_gateway(quantized_env(f"sqlite:///{workdir / 'q.db'}"), workdir)
    yield gateway
    gateway.stop()


def bearer(gateway: Gateway) -> str:
    return f"Authorization: Bearer {gateway.admin_key}"


def test_requests_it_does_not_answer_go_on_in_order(server: Gateway) -> None:
    key = bearer(server)
    requests = b"".join(
        [
            request("GET", "/v1/models", key),
            request("GET", "/v1/models", key, body=b"ignored"),  # a body: handed over
            request("GET", "/healthz"),
            request("GET", "/v1/models/openai/gpt-4.1-nano", key),
            request("POST", "/v1/models", key),
            request("GET", "/v1/models", key, "Connection: close"),
        ]
    )
    responses = parse(exchange(server.port, requests))
    assert [r.status for r in responses] == [200, 200, 200, 200, 405, 200]
    assert responses[0].body == responses[1].body == responses[5].body
    assert responses[5].header("connection") == "close"


def test_anthropic_requests_share_a_connection_with_the_others(server: Gateway) -> None:
    """Anthropic's shape is answered on this protocol too: pipelined with plain requests, every
    answer comes in order, each in its own shape, the credential from either header."""
    anthropic, api_key = "anthropic-version: 2023-06-01", f"x-api-key: {server.admin_key}"
    requests = b"".join(
        [
            request("GET", "/v1/models?limit=2", api_key, anthropic),
            request("GET", "/v1/models", bearer(server)),
            request("GET", "/v1/models/openai/no-such-model", api_key, anthropic),
            request("GET", "/v1/models/openai/gpt-4.1-nano", api_key),
            request("GET", "/v1/models?limit=2", bearer(server), "Connection: close"),
        ]
    )
    responses = parse(exchange(server.port, requests))
    assert [r.status for r in responses] == [200, 200, 404, 200, 400]
    assert len(json.loads(responses[0].body)["data"]) == 2
    assert isinstance(json.loads(responses[1].body), list)
    assert json.loads(responses[2].body)["error"]["type"] == "not_found_error"
    assert responses[2].header("request-id") == responses[2].header("x-request-id")
    assert json.loads(responses[3].body)["id"] == "openai/gpt-4.1-nano"
    assert json.loads(responses[4].body)["error"]["param"] == "limit"  # no header: as before


@pytest.mark.parametrize(
    "extra",
    [
        ("Expect: 100-continue",),
        ("Connection: Upgrade", "Upgrade: websocket"),
        ("Transfer-Encoding: chunked",),
    ],
)
def test_heads_it_cannot_answer_alone_are_still_answered(
    server: Gateway, extra: tuple[str, ...]
) -> None:
    data = request("GET", "/v1/models", bearer(server), *extra, "Connection: close")
    if "Transfer-Encoding: chunked" in extra:
        data += b"0\r\n\r\n"
    reply = exchange(server.port, data)
    assert parse(reply.split(b"HTTP/1.1 100 Continue\r\n\r\n")[-1])[0].status == 200


def test_http_1_0_is_answered_then_closed(server: Gateway) -> None:
    data = request("GET", "/v1/models", bearer(server)).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    (response,) = parse(exchange(server.port, data))
    assert response.status == 200 and response.header("connection") == "close"


def test_a_revoked_key_is_refused_on_a_connection_that_used_it(server: Gateway) -> None:
    admin = {"Authorization": f"Bearer {server.admin_key}"}
    created = httpx.post(f"{server.url}/admin/v1/keys", headers=admin, json={"name": "brief"})
    key_id, secret = created.json()["id"], created.json()["secret"]
    with connect(server.port) as sock:
        sock.sendall(request("GET", "/v1/models", f"Authorization: Bearer {secret}"))
        assert read_response(sock).status == 200
        revoked = httpx.post(f"{server.url}/admin/v1/keys/{key_id}/revoke", headers=admin)
        assert revoked.status_code == 200
        sock.sendall(request("GET", "/v1/models", f"Authorization: Bearer {secret}"))
        refused = read_response(sock)
    assert refused.status == 401 and b"revoked" in refused.body


def test_malformed_and_oversized_heads(server: Gateway) -> None:
    assert exchange(server.port, b"GET /v1/models HTTP/1.1\r\nBad Header\r\n\r\n").startswith(
        b"HTTP/1.1 400"
    )
    long_url = b"GET /v1/models?" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"
    assert exchange(server.port, long_url).startswith(b"HTTP/1.1 414")
    many = b"GET /v1/models HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n"
    assert exchange(server.port, many).startswith(b"HTTP/1.1 431")
