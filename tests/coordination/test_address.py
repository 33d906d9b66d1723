"""Redis URLs: what each form means, and one clear line for every mistake."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from quantized.coordination.address import RedisAddress, parse_redis_url
from quantized.errors import ConfigurationError
from quantized.settings import load_settings
from tests.utils.tls import make_tls_files


def test_plain_unix_and_tls_urls(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    assert parse_redis_url("redis://cache.internal:6380/2") == RedisAddress(
        host="cache.internal", port=6380, db=2
    )
    assert parse_redis_url("redis://u%40x:p%2Fw@h/0?db=5") == RedisAddress(
        host="h", username="u@x", password="p/w", db=5
    )
    unix = parse_redis_url("unix://:secret@/run/redis/redis.sock?db=3")
    assert (unix.path, unix.password, unix.db, unix.tls) == (
        "/run/redis/redis.sock",
        "secret",
        3,
        False,
    )
    tls = parse_redis_url(f"rediss://h:6390/1?ssl_ca_certs={files.ca}")
    assert (tls.tls, tls.port, tls.db, tls.cert_reqs, tls.check_hostname) == (
        True,
        6390,
        1,
        "required",
        True,
    )
    context = tls.ssl_context()
    assert (
        context is not None and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    )
    loose = parse_redis_url("rediss://h?ssl_cert_reqs=none").ssl_context()
    assert loose is not None and loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    assert parse_redis_url("redis://h").ssl_context() is None
    options = tls.redis_py_options()
    assert options["connection_class"].__name__ == "SSLConnection"
    assert options["ssl_ca_certs"] == str(files.ca) and options["ssl_cert_reqs"] == "required"
    assert parse_redis_url("unix:///s.sock").redis_py_options()["path"] == "/s.sock"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:6379", "starts with redis://, rediss:// or unix://"),
        ("redis://h:6379/0?ssl_ca_cert=/x", "unknown Redis URL parameter 'ssl_ca_cert'"),
        ("redis://h:6379/zero", "the Redis database must be a number"),
        ("redis://h:99999/0", "port is not a number"),
        ("redis:///0", "has no host"),
        ("unix://", "needs the socket's path"),
        ("redis://h/0?ssl_ca_certs=/x", "ssl_ca_certs needs a rediss:// (TLS) URL"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "ssl_cert_reqs is none, optional or required"),
        ("rediss://h/0?ssl_ca_certs=/nonexistent/ca.pem", "ssl_ca_certs: no file at"),
        ("rediss://h/0?ssl_check_hostname=perhaps", "ssl_check_hostname is true or false"),
    ],
)
def test_mistakes_are_one_line_naming_the_setting(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(redis_url=url)
    text = str(error.value.message)
    assert text.startswith("invalid setting QUANTIZED_REDIS_URL: ") and message in text, text
    assert "\n" not in text


def test_a_certificate_file_that_is_not_one(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="cannot load the Redis TLS certificates"):
        load_settings(redis_url=f"rediss://h/0?ssl_ca_certs={junk}")


def test_passwords_are_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(redis_url="redis://:hunter2-secret@h:6379/x")
    assert "hunter2" not in str(error.value.message)


def test_blank_means_no_redis() -> None:
    assert load_settings(redis_url="").redis_url is None
    assert load_settings(redis_url=" redis://h:6379/0 ").redis_url == "redis://h:6379/0"
