"""TLS to upstreams and egress proxies: a real forward proxy, an HTTPS upstream from a test CA."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantized.gateway.client import UpstreamClient, UpstreamProxyRefused, UpstreamUnreachable
from quantized.gateway.client.origin import split_url
from tests.gateway.conftest import Run
from tests.utils.clients import fetch, open_client
from tests.utils.forward_proxy import ForwardProxy
from tests.utils.loops import until
from tests.utils.processes import free_port
from tests.utils.raw_upstream import RawUpstream
from tests.utils.tls import ThrowawayCA

SECRET_BODY = b'{"messages": "a-prompt-the-proxy-must-not-see"}'
HEADERS = [(b"authorization", b"Bearer provider-key-the-proxy-must-not-see")]


@pytest.fixture
def ca(tmp_path: Path) -> ThrowawayCA:
    return ThrowawayCA.create(tmp_path / "ca")


@pytest.fixture
def tls_upstream(ca: ThrowawayCA) -> Iterator[RawUpstream]:
    """An HTTPS upstream whose certificate names ``localhost`` only."""
    with RawUpstream(tls=ca.server_context("localhost")) as server:
        yield server


async def body_of(client: UpstreamClient, url: str) -> bytes:
    response = await client.post(url, HEADERS, SECRET_BODY)
    assert response.status == 200
    return await response.read()


def send(run: Run, url: str, **options: Any) -> bytes:
    """One request, on a fresh client, as the gateway sends a prompt."""
    return run(fetch(url, SECRET_BODY, HEADERS, **options))  # type: ignore[no-any-return]


def unsent(run: Run, url: str, **options: Any) -> UpstreamUnreachable:
    with pytest.raises(UpstreamUnreachable) as caught:
        send(run, url, **options)
    assert caught.value.sent is False
    return caught.value


def test_direct_https_trusts_the_configured_ca(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    async def main() -> None:
        async with open_client(ca_file=ca.ca_file) as client:
            for _ in range(2):
                assert await body_of(client, tls_upstream.url("/ok", host="localhost")) == b"ok"

    run(main())
    assert tls_upstream.connections == 1  # kept alive
    assert tls_upstream.requests[0].headers["host"] == f"localhost:{tls_upstream.port}"


def test_an_idle_tls_connection_the_upstream_closed_is_not_used(run: Run, ca: ThrowawayCA) -> None:
    async def main(server: RawUpstream) -> None:
        async with open_client(ca_file=ca.ca_file) as client:
            url = server.url("/ok", host="localhost")
            pool = client.pool(split_url(url)[0])
            assert await body_of(client, url) == b"ok"
            await until(lambda: server.idle_closed == 1 and pool.idle == 0)
            assert await body_of(client, url) == b"ok"

    with RawUpstream(tls=ca.server_context("localhost"), idle_timeout=0.1) as server:
        run(main(server))
    assert len(server.requests) == 2
    assert server.connections == 2


def test_an_untrusted_or_misnamed_certificate_is_refused_unsent(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    error = unsent(run, tls_upstream.url("/ok", host="localhost"))  # the system's CAs only
    assert "certificate verify failed" in str(error)
    error = unsent(run, tls_upstream.url("/ok"), ca_file=ca.ca_file)  # 127.0.0.1: not its name
    assert "certificate verify failed" in str(error)
    assert tls_upstream.requests == []


def test_https_through_the_proxy_is_a_connect_tunnel(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    url = tls_upstream.url("/v1/chat", host="localhost")

    async def main() -> None:
        async with open_client(https_proxy=proxy.url(), ca_file=ca.ca_file) as client:
            for _ in range(2):
                assert await body_of(client, url) == b"ok"

    with ForwardProxy() as proxy:
        run(main())
    authority = f"localhost:{tls_upstream.port}"
    assert [(seen.method, seen.target) for seen in proxy.seen] == [("CONNECT", authority)]
    assert proxy.seen[0].headers["host"] == authority
    assert "proxy-authorization" not in proxy.seen[0].headers
    assert proxy.tunnelled  # TLS records only:
    assert b"must-not-see" not in proxy.tunnelled and b"POST" not in proxy.tunnelled
    assert [r.target for r in tls_upstream.requests] == ["/v1/chat"] * 2
    assert tls_upstream.requests[0].body == SECRET_BODY
    assert tls_upstream.connections == 1


def test_through_the_proxy_the_certificate_must_name_the_upstream(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    with ForwardProxy() as proxy:
        url = tls_upstream.url("/ok")  # 127.0.0.1: not in the certificate
        error = unsent(run, url, https_proxy=proxy.url(), ca_file=ca.ca_file)
    assert "certificate verify failed" in str(error)
    assert [seen.target for seen in proxy.seen] == [f"127.0.0.1:{tls_upstream.port}"]
    assert tls_upstream.requests == []


def test_http_through_the_proxy_uses_absolute_form(run: Run) -> None:
    with RawUpstream() as upstream, ForwardProxy() as proxy:
        assert send(run, upstream.url("/v1/chat?x=1"), http_proxy=proxy.url()) == b"ok"
    absolute = f"http://127.0.0.1:{upstream.port}/v1/chat?x=1"
    assert [(seen.method, seen.target) for seen in proxy.seen] == [("POST", absolute)]
    assert proxy.seen[0].headers["host"] == f"127.0.0.1:{upstream.port}"
    assert upstream.requests[0].body == SECRET_BODY


def test_proxy_credentials_go_to_the_proxy_only(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    password = "p@ss:w/rd"
    expected = "Basic " + base64.b64encode(f"user:{password}".encode()).decode()
    with RawUpstream() as plain, ForwardProxy(credentials=("user", password)) as proxy:
        url = proxy.url("user:p%40ss%3Aw%2Frd")
        tls = tls_upstream.url("/ok", host="localhost")
        assert send(run, tls, https_proxy=url, ca_file=ca.ca_file) == b"ok"
        assert send(run, plain.url("/ok"), http_proxy=url) == b"ok"
    assert [seen.headers["proxy-authorization"] for seen in proxy.seen] == [expected] * 2
    assert "proxy-authorization" not in tls_upstream.requests[0].headers


def test_a_proxy_refusing_connect_is_unsent_and_keeps_the_credentials_secret(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    url = tls_upstream.url("/ok", host="localhost")

    async def refused(proxy_url: str) -> UpstreamProxyRefused:
        async with open_client(https_proxy=proxy_url, ca_file=ca.ca_file) as client:
            with pytest.raises(UpstreamProxyRefused) as caught:
                await client.post(url, HEADERS, SECRET_BODY)
            pool = client.pool(split_url(url)[0])
            assert "secret" not in repr(pool.proxy)
            assert pool.open == 0
            return caught.value

    with ForwardProxy(credentials=("user", "right-secret")) as proxy:
        for userinfo in ("user:wrong-secret", ""):
            error = run(refused(proxy.url(userinfo)))
            assert (error.status, error.sent) == (407, False)
            assert f"127.0.0.1:{proxy.port}" in str(error) and "407" in str(error)
            assert "secret" not in str(error) and "secret" not in repr(error)
    assert len(proxy.seen) == 2
    assert tls_upstream.requests == []


def test_no_proxy_hosts_are_reached_directly(
    run: Run, ca: ThrowawayCA, tls_upstream: RawUpstream
) -> None:
    with RawUpstream() as plain, ForwardProxy() as proxy:
        options = {
            "https_proxy": proxy.url(),
            "http_proxy": proxy.url(),
            "no_proxy": "example.com, localhost,127.0.0.0/8",
            "ca_file": ca.ca_file,
        }
        assert send(run, tls_upstream.url("/ok", host="localhost"), **options) == b"ok"
        assert send(run, plain.url("/ok"), **options) == b"ok"
        assert proxy.seen == []
        # localhost is not exempt unless listed (as with curl)
        assert send(run, plain.url("/ok"), http_proxy=proxy.url(), no_proxy="example.com")
        assert [seen.method for seen in proxy.seen] == ["POST"]


def test_an_unreachable_proxy_is_named_and_unsent(run: Run) -> None:
    port = free_port()
    dead = f"http://127.0.0.1:{port}"
    for kind in ("https", "http"):
        error = unsent(run, f"{kind}://api.example.com/v1/chat", https_proxy=dead, http_proxy=dead)
        assert f"the proxy 127.0.0.1:{port}" in str(error)
