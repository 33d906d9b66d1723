"""The upstream client's settings: read from the environment and .env, wired into the runtime."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quantized.errors import ConfigurationError
from quantized.gateway.client.origin import split_url
from quantized.runtime import Runtime
from quantized.settings import Settings, load_settings
from tests.utils.processes import PROXY_VARIABLES
from tests.utils.tls import ThrowawayCA


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited QUANTIZED_* or proxy variables, and a working directory without .env."""
    for name in list(os.environ):
        if name.startswith("QUANTIZED_") or name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()
    assert settings.upstream_max_connections == 256
    assert settings.max_upstream_response_bytes == 64 * 1024 * 1024
    assert (settings.https_proxy, settings.http_proxy, settings.no_proxy) == (None, None, None)
    assert settings.upstream_ca_file is None


def test_proxy_variables_are_read_as_curl_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:3128")
    monkeypatch.setenv("http_proxy", "http://lower:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal")
    settings = Settings()
    assert settings.https_proxy == "http://upper:3128"
    assert settings.http_proxy == "http://lower:3128"
    assert settings.no_proxy == "localhost,.internal"
    monkeypatch.setenv("QUANTIZED_HTTPS_PROXY", "http://ours:3128")  # the prefixed one wins
    assert Settings().https_proxy == "http://ours:3128"


def test_the_dotenv_file_is_read_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "https_proxy=http://from-file:3128\n"
        "QUANTIZED_NO_PROXY=.corp\n"
        "QUANTIZED_UPSTREAM_MAX_CONNECTIONS=7\n"
        "QUANTIZED_MAX_UPSTREAM_RESPONSE_BYTES=4096\n"
        "QUANTIZED_UPSTREAM_CA_FILE=ca.pem\n"
    )
    settings = Settings()
    assert (settings.https_proxy, settings.no_proxy) == ("http://from-file:3128", ".corp")
    assert (settings.upstream_max_connections, settings.max_upstream_response_bytes) == (7, 4096)
    assert settings.upstream_ca_file == Path("ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://from-env:3128")  # the environment wins
    assert Settings().https_proxy == "http://from-env:3128"


def test_limits_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="QUANTIZED_UPSTREAM_MAX_CONNECTIONS"):
        load_settings(upstream_max_connections=0)
    with pytest.raises(ConfigurationError, match="QUANTIZED_MAX_UPSTREAM_RESPONSE_BYTES"):
        load_settings(max_upstream_response_bytes=10)


def test_the_runtime_client_uses_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = ThrowawayCA.create(tmp_path / "ca")
    monkeypatch.setenv("HTTPS_PROXY", "http://user:secret@proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp")
    monkeypatch.setenv("QUANTIZED_UPSTREAM_MAX_CONNECTIONS", "9")
    monkeypatch.setenv("QUANTIZED_MAX_UPSTREAM_RESPONSE_BYTES", "5000")
    monkeypatch.setenv("QUANTIZED_UPSTREAM_CA_FILE", str(ca.ca_file))
    client = Runtime(load_settings()).client
    pool = client.pool(split_url("https://api.openai.com/v1/chat/completions")[0])
    assert (pool.limit, pool.max_response_bytes) == (9, 5000)
    assert pool.proxy is not None and pool.proxy.hostport == "proxy.corp:3128"
    assert client.pool(split_url("https://llm.internal.corp/v1")[0]).proxy is None
    assert client.pool(split_url("http://api.openai.com/v1")[0]).proxy is None  # no HTTP_PROXY


def test_unusable_client_settings_stop_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTIZED_UPSTREAM_CA_FILE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match="upstream CA file"):
        Runtime(load_settings())
    monkeypatch.delenv("QUANTIZED_UPSTREAM_CA_FILE")
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:secret@proxy:1080")
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY") as caught:
        Runtime(load_settings())
    assert "secret" not in str(caught.value)
