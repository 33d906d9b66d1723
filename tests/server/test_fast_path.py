"""The models fast path: answers identical to the ASGI path's; and the full protocol still
serves when the uvicorn internals its limits rely on are missing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import Gateway, quantized_env, start_gateway
from tests.utils.raw import RawResponse, exchange, parse, parse_head, request

VOLATILE = {"date", "x-request-id", "request-id"}
ANTHROPIC = "anthropic-version: 2023-06-01"
ANTHROPIC_QUERIES = (
    "/v1/models?limit=2",
    "/v1/models?limit=2&after_id=openai/gpt-4.1-nano",
    "/v1/models?before_id=openai%2Fgpt-4.1-nano&limit=3",
    "/v1/models?limit=1000&author=openai",
    "/v1/models?limit=0",
    "/v1/models?limit=1001",
    "/v1/models?limit=two",
    "/v1/models?limit=1&limit=2",
    "/v1/models?after_id=openai/no-such-model",
    "/v1/models?after_id=openai/gpt-4.1-nano&before_id=openai/gpt-4.1",
    "/v1/models?page=2",
)


@dataclass
class Pair:
    fast: Gateway
    asgi: Gateway
    key: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two servers on one database: the fast path on, and off."""
    workdir = tmp_path_factory.mktemp("parity")
    env = quantized_env(f"sqlite:///{workdir / 'q.db'}")
    fast = start_gateway(env, workdir)
    asgi = start_gateway({**env, "QUANTIZED_FAST_PATH": "false"}, workdir)
    assert fast.admin_key
    yield Pair(fast, asgi, fast.admin_key)
    fast.stop()
    asgi.stop()


def corpus(key: str) -> list[bytes]:
    bearer = f"Authorization: Bearer {key}"
    sdk = ("User-Agent: OpenAI/Python 2.0", "X-Stainless-Lang: python")
    out = []
    for method in ("GET", "HEAD"):
        for path in (
            "/v1/models",
            "/v1/models?author=openai",
            "/v1/models?author=openai,anthropic&supported_features=tool_calls",
            "/v1/models?input_modality=image&output_modality=text",
            "/v1/models?supported_features=teleportation",
            "/v1/models?color=blue",
            "/v1/models?author=",
            "/v1/models/openai/gpt-4.1-nano",
            "/v1/models/openai%2Fgpt-4.1-nano",
            "/v1/models/openai/no-such-model",
            "/v1/models/openai/gpt-4.1-nano?x=1",
            "/v1/models/%00",
            "/v1/models/gpt-4.1-nano",  # aliases: answered as the model's id
            "/v1/models/claude-haiku-4-5-20251001",
            "/v1/models/meta-llama/llama-4-scout-17b-16e-instruct",
            "/v1/models/meta-llama%2Fllama-4-scout-17b-16e-instruct",
            "/v1/models/no-such-alias",
            "/v1/models/gpt-4.1-nano?x=1",
        ):
            out.append(request(method, path, bearer))
            out.append(request(method, path, bearer, *sdk))
            out.append(request(method, path, bearer, "Accept-Encoding: gzip, deflate"))
            out.append(request(method, path, bearer, "Accept-Encoding: gzip;q=0"))
            out.append(request(method, path, bearer, ANTHROPIC, *sdk))
            out.append(
                request(method, path, f"x-api-key: {key}", ANTHROPIC, "Accept-Encoding: gzip")
            )
        for path in ANTHROPIC_QUERIES:
            out.append(request(method, path, f"x-api-key: {key}", ANTHROPIC))
    for header in (
        None,
        "Authorization: Basic abc",
        "Authorization: Bearer",
        "Authorization: Bearer sk-quantized-" + "x" * 43,
        "Authorization: Bearer not.a.jwt",
        "Authorization: Bearer " + "y" * 9000,
    ):
        out.append(request("GET", "/v1/models", *([header] if header else [])))
        out.append(request("GET", "/v1/models", *([header] if header else []), ANTHROPIC))
    for api_key in (key, "sk-quantized-" + "x" * 43, ""):
        out.append(request("GET", "/v1/models", f"x-api-key: {api_key}"))
        out.append(request("GET", "/v1/models/openai/gpt-4.1-nano", f"x-api-key: {api_key}"))
        out.append(request("GET", "/v1/models", f"x-api-key: {api_key}", ANTHROPIC))
    out.append(request("GET", "/v1/models", bearer, "x-api-key: wrong"))  # Authorization wins
    out.append(request("GET", "/v1/models", "Authorization: Bearer wrong", f"x-api-key: {key}"))
    out.append(request("POST", "/v1/models", bearer))
    out.append(request("DELETE", "/v1/models/openai/gpt-4.1-nano", bearer))
    out.append(request("POST", "/v1/models", bearer, ANTHROPIC))
    return out


def comparable(response: RawResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, "*" if k in VOLATILE else v) for k, v in response.headers]
    return response.status, headers, response.body


def one(gateway: Gateway, data: bytes) -> RawResponse:
    data = data.replace(b"Host: test\r\n", b"Host: test\r\nConnection: close\r\n", 1)
    reply = exchange(gateway.port, data)
    if data.startswith(b"HEAD"):  # no body follows, whatever Content-Length says
        head, _, rest = reply.partition(b"\r\n\r\n")
        assert rest == b""
        return parse_head(head)
    (response,) = parse(reply)
    return response


def test_the_fast_path_answers_exactly_as_the_asgi_path(pair: Pair) -> None:
    requests = corpus(pair.key)
    statuses = set()
    for data in requests:
        fast, asgi = one(pair.fast, data), one(pair.asgi, data)
        assert comparable(fast) == comparable(asgi), data.split(b"\r\n")[0]
        assert fast.header("x-request-id") and asgi.header("x-request-id")
        if b"\r\nanthropic-version:" in data:  # the id Anthropic's SDKs read, too
            assert fast.header("request-id") == fast.header("x-request-id")
            assert asgi.header("request-id") == asgi.header("x-request-id")
        statuses.add(fast.status)
    assert {200, 400, 401, 404, 405} <= statuses


def test_an_alias_gets_the_ids_answer(pair: Pair) -> None:
    bearer = f"Authorization: Bearer {pair.key}"
    for gateway in (pair.fast, pair.asgi):
        canonical = one(gateway, request("GET", "/v1/models/openai/gpt-4.1-nano", bearer))
        alias = one(gateway, request("GET", "/v1/models/gpt-4.1-nano-2025-04-14", bearer))
        assert alias.status == canonical.status == 200
        assert comparable(alias) == comparable(canonical)
        assert b'"id":"openai/gpt-4.1-nano"' in alias.body


def test_conditional_requests_match_too(pair: Pair) -> None:
    bearer = f"Authorization: Bearer {pair.key}"
    for extra in (
        (),
        ("Accept-Encoding: gzip",),
        (ANTHROPIC,),
        (ANTHROPIC, "Accept-Encoding: gzip"),
    ):
        tag = one(pair.fast, request("GET", "/v1/models", bearer, *extra)).header("etag")
        data = request("GET", "/v1/models", bearer, *extra, f"If-None-Match: {tag}")
        fast, asgi = one(pair.fast, data), one(pair.asgi, data)
        assert fast.status == 304
        assert comparable(fast) == comparable(asgi)


SITECUSTOMIZE = """
import uvicorn.protocols.http.httptools_impl as impl

_init = impl.HttpToolsProtocol.__init__


def __init__(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    del self.expect_100_continue  # as if a uvicorn release renamed it


impl.HttpToolsProtocol.__init__ = __init__
"""


def test_missing_uvicorn_internals_leave_the_limits_to_uvicorn_with_a_warning(
    tmp_path: Path,
) -> None:
    patch = tmp_path / "patch"
    patch.mkdir()
    (patch / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}", PYTHONPATH=str(patch))
    gateway = start_gateway(env, tmp_path)
    try:
        headers = {"Authorization": f"Bearer {gateway.admin_key}"}
        listing = httpx.get(f"{gateway.url}/v1/models", headers=headers)
        assert listing.status_code == 200 and len(listing.json()) > 40
        missing = httpx.get(f"{gateway.url}/v1/models/openai/nope", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200  # the full protocol
        assert "lacks internals Quantized's limits use (expect_100_continue)" in gateway.log()
        assert httpx.get(f"{gateway.url}/v1/models/{'x' * 20_000}").status_code == 414
        assert httpx.get(f"{gateway.url}/v1/usage", headers=headers).status_code == 200
    finally:
        gateway.stop()
