"""Reading HTTPS_PROXY / HTTP_PROXY / NO_PROXY values (no network)."""

from __future__ import annotations

import base64

import pytest

from quantized.errors import ConfigurationError
from quantized.gateway.client.origin import split_url
from quantized.gateway.client.proxy import NoProxy, Proxy, ProxyRules


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "exempt"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),  # subdomains, without a leading dot
        (".example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, True),  # curl drops the leading dot
        ("*.example.com", "api.example.com", 443, True),
        ("example.com", "notexample.com", 443, False),
        ("example.com", "example.com.org", 443, False),
        ("EXAMPLE.com.", "Api.Example.COM.", 443, True),  # case and trailing dots ignored
        ("*", "anything.at.all", 80, True),
        ("a.org, *", "anything.at.all", 80, True),
        ("", "localhost", 80, False),
        ("example.com", "localhost", 80, False),  # nothing is exempt implicitly
        ("example.com", "127.0.0.1", 80, False),
        ("localhost", "localhost", 80, True),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.1", "127.0.0.2", 8080, False),
        ("10.0.0.0/8", "10.20.30.40", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("10.0.0.0/8", "ten.example", 443, False),  # names are not resolved
        ("::1", "::1", 443, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("fd00::/8", "fe80::1", 443, False),
        ("example.com:8443", "api.example.com", 8443, True),  # a port: only that port
        ("example.com:8443", "api.example.com", 443, False),
        ("10.0.0.0/8:443", "10.1.1.1", 443, True),
        ("[::1]:8443", "::1", 8443, True),
        ("[::1]:8443", "::1", 443, False),
        ("a.org,,b.org  c.org", "x.c.org", 80, True),  # commas and blanks both separate
        ("<local>, example.com:x", "example.com", 80, False),  # unreadable: ignored
        ("[::1, [::1]x", "::1", 80, False),
    ],
)
def test_no_proxy_matching(no_proxy: str, host: str, port: int, exempt: bool) -> None:
    assert NoProxy.parse(no_proxy).matches(host, port) is exempt


def test_proxy_urls() -> None:
    assert Proxy.parse("proxy.corp:3128", "HTTPS_PROXY") == Proxy("proxy.corp", 3128)
    assert Proxy.parse("http://Proxy.Corp", "HTTPS_PROXY") == Proxy("proxy.corp", 1080)
    proxy = Proxy.parse("http://me%40corp:p%3Ass@[::1]:8080/", "HTTPS_PROXY")
    assert (proxy.host, proxy.port, proxy.hostport) == ("::1", 8080, "[::1]:8080")
    assert proxy.authorization == b"Basic " + base64.b64encode(b"me@corp:p:ss")
    assert "p:ss" not in repr(proxy) and "p%3Ass" not in repr(proxy)


@pytest.mark.parametrize(
    "url", ["socks5://user:secret@proxy:1080", "https://user:secret@proxy", "http://user:secret@"]
)
def test_unsupported_proxy_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Proxy.parse(url, "HTTPS_PROXY")
    assert "HTTPS_PROXY" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_each_scheme_has_its_proxy() -> None:
    rules = ProxyRules.parse("http://tls-proxy:1", " ", "internal.corp")
    assert rules.proxy_for(split_url("https://api.openai.com/v1")[0]) == Proxy("tls-proxy", 1)
    assert rules.proxy_for(split_url("http://api.openai.com/v1")[0]) is None  # no HTTP proxy
    assert rules.proxy_for(split_url("https://llm.internal.corp/v1")[0]) is None
    assert ProxyRules.parse(None, None, None) == ProxyRules()
