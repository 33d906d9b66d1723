"""Bedrock's authentication: regions, SigV4 signatures (checked by recomputing them with
botocore, as the fake Bedrock does), and AWS credentials found and refreshed."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

from quantized.catalog.model import Upstream
from quantized.gateway.providers.base import CredentialsUnavailable
from quantized.gateway.providers.bedrock import BedrockProvider, converse_url
from quantized.gateway.providers.bedrock_auth import AwsCredentials, region_of, signed_headers
from quantized.gateway.surfaces.chat import parse_chat_request
from tests.gateway.conftest import Run
from tests.utils.aws import SIGNATURE_MISMATCH, Keys, Signed, check_signature

KEYS = Keys("AKIDTESTBEDROCK00001", "test-secret-key-0123456789", "test-session-token-abc")
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def upstream(base_url: str = "http://127.0.0.1:9", **fields: Any) -> Upstream:
    return Upstream(provider="bedrock", base_url=base_url, model=MODEL, **fields)


@pytest.mark.parametrize(
    ("base_url", "region"),
    [
        ("https://bedrock-runtime.eu-west-3.amazonaws.com", "eu-west-3"),
        ("https://bedrock-runtime-fips.us-east-1.amazonaws.com/", "us-east-1"),
        ("https://vpce-0a1b-c2d3.bedrock-runtime.ap-south-1.vpce.amazonaws.com", "ap-south-1"),
        ("https://bedrock-runtime.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("http://127.0.0.1:8080", None),
    ],
)
def test_the_region_is_read_from_the_host(base_url: str, region: str | None) -> None:
    assert region_of(upstream(base_url)) == region
    assert region_of(upstream(base_url, region="us-west-2")) == "us-west-2"


def sign(keys: Keys, url: str, body: bytes, region: str = "us-west-2") -> dict[str, str]:
    credentials = ReadOnlyCredentials(keys.access_key, keys.secret_key, keys.token)
    headers = {k.decode(): v.decode() for k, v in signed_headers(credentials, region, url, body)}
    return {**headers, "host": url.split("/")[2]}


def test_a_signature_botocore_recomputes_over_exactly_the_headers_sent() -> None:
    url = converse_url(upstream("http://127.0.0.1:8080"), stream=True)
    assert (
        url
        == "http://127.0.0.1:8080/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    )
    body = b'{"messages": []}'
    headers = sign(KEYS, url, body)
    assert set(headers) == {
        "authorization",
        "content-type",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-security-token",
    }
    path = url.removeprefix("http://127.0.0.1:8080")
    checked = check_signature({KEYS.access_key: KEYS}, "us-west-2", path, headers, body)
    assert checked == Signed(
        KEYS.access_key,
        "us-west-2",
        "bedrock",
        ["content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"],
    )


def test_a_signature_fails_with_another_secret_body_or_region() -> None:
    url = "http://127.0.0.1:8080/model/m/converse"
    keys = {KEYS.access_key: KEYS}
    wrong = Keys(KEYS.access_key, "another-secret", KEYS.token)
    assert check_signature(
        keys, "us-west-2", "/model/m/converse", sign(wrong, url, b"{}"), b"{}"
    ) == (SIGNATURE_MISMATCH)
    headers = sign(KEYS, url, b"{}")
    assert (
        check_signature(keys, "us-west-2", "/model/m/converse", headers, b"{ }")
        != SIGNATURE_MISMATCH
    )
    assert "does not match" in str(
        check_signature(keys, "us-west-2", "/model/m/converse", headers, b"{ }")
    )
    assert "region" in str(check_signature(keys, "eu-west-1", "/model/m/converse", headers, b"{}"))


def test_without_a_session_token_none_is_signed() -> None:
    keys = Keys("AKIDPERMANENT0000001", "permanent-secret")
    url = "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse"
    headers = sign(keys, url, b"{}")
    assert "x-amz-security-token" not in headers
    checked = check_signature(
        {keys.access_key: keys}, "us-west-2", "/model/m/converse", headers, b"{}"
    )
    assert isinstance(checked, Signed)


def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_credentials_from_the_environment(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_aws_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", str(KEYS.token))
    credentials = AwsCredentials()
    assert credentials.current() is None
    run(credentials.ensure())
    assert tuple(credentials.current())[:3] == (KEYS.access_key, KEYS.secret_key, KEYS.token)


def test_no_credentials_anywhere(run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_aws_environment(monkeypatch, tmp_path)
    credentials = AwsCredentials()
    with pytest.raises(CredentialsUnavailable, match="no AWS credentials were found"):
        run(credentials.ensure())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS.secret_key)
    with pytest.raises(CredentialsUnavailable):  # remembered a while: not looked for again
        run(credentials.ensure())


def test_a_missing_profile_is_named(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_aws_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    with pytest.raises(CredentialsUnavailable, match=r"ProfileNotFound: .*nowhere"):
        run(AwsCredentials().ensure())


def temporary(expires_in: float, refreshed: list[int]) -> RefreshableCredentials:
    def expiry(seconds: float) -> str:
        at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
        return at.isoformat()

    def refresh() -> dict[str, str]:
        refreshed.append(1)
        return {
            "access_key": f"AKIDREFRESHED{len(refreshed):07d}",
            "secret_key": "refreshed-secret",
            "token": "refreshed-token",
            "expiry_time": expiry(3600),
        }

    metadata = {
        "access_key": "AKIDFIRST",
        "secret_key": "s",
        "token": "t",
        "expiry_time": expiry(expires_in),
    }
    return RefreshableCredentials.create_from_metadata(metadata, refresh, "test")


def test_temporary_credentials_are_refreshed_before_they_expire(run: Run) -> None:
    refreshed: list[int] = []
    credentials = AwsCredentials(temporary(5 * 60, refreshed))  # within 15 minutes of expiry
    run(credentials.ensure())
    assert refreshed == [1] and credentials.current().access_key == "AKIDREFRESHED0000001"


def test_fresh_temporary_credentials_are_kept(run: Run) -> None:
    refreshed: list[int] = []
    credentials = AwsCredentials(temporary(3600, refreshed))
    run(credentials.ensure())
    first = credentials.current()
    run(credentials.ensure())
    assert refreshed == [] and credentials.current() is first and first.access_key == "AKIDFIRST"


def chat() -> Any:
    return parse_chat_request(
        orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    )


def test_an_api_key_is_a_bearer_token(run: Run) -> None:
    provider = BedrockProvider()
    target = upstream(auth="api-key", api_key_env="BEDROCK_KEY")
    run(provider.prepare(target, "bedrock-key-1"))
    call = provider.call(chat(), target, "bedrock-key-1")
    assert (b"authorization", b"Bearer bedrock-key-1") in call.headers
    assert not any(name.startswith(b"x-amz-") for name, _ in call.headers)
    with pytest.raises(CredentialsUnavailable, match="api_key_env"):
        run(provider.prepare(target, None))


def test_an_unknown_region_is_said(run: Run) -> None:
    with pytest.raises(CredentialsUnavailable, match="region"):
        run(BedrockProvider().prepare(upstream("http://127.0.0.1:9"), None))


def test_a_signed_call(run: Run) -> None:
    refreshed: list[int] = []
    provider = BedrockProvider(AwsCredentials(temporary(3600, refreshed)))
    target = upstream("https://bedrock-runtime.eu-west-3.amazonaws.com")
    run(provider.prepare(target, None))
    call = provider.call(chat(), target, None)
    headers = dict(call.headers)
    assert headers[b"x-amz-security-token"] == b"t"
    assert b"Credential=AKIDFIRST/" in headers[b"authorization"]
    assert b"/eu-west-3/bedrock/aws4_request" in headers[b"authorization"]
    assert call.url.endswith("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse")
