"""The one error boundary, in process: every failure on every kind of route is answered in
the OpenAI shape with an ``x-request-id``; tracebacks go to the log only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quantized.api.errors import OPENAI
from quantized.api.model_route import ModelRoute
from quantized.gateway.streams import StreamTranslator, UpstreamCall, Usage
from quantized.gateway.surfaces.chat import ChatCompletions, ChatRequest
from tests.utils.catalogs import entry, write_catalog
from tests.utils.databases import query
from tests.utils.inprocess import InProcess, in_process, until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[InProcess]:
    catalog = write_catalog(
        tmp_path / "catalog.yaml",
        [
            entry(
                "fake/gpt",
                upstreams=[
                    {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
                ],
            )
        ],
    )
    async with in_process(tmp_path, catalog_file=catalog) as running:
        yield running


class Broken(ChatCompletions):
    """A surface with a bug in its translation."""

    def call(self, request: ChatRequest, route: Any) -> UpstreamCall:
        raise RuntimeError("a bug with a secret inside: sk-upstream-123")

    def stream(self, request: ChatRequest, route: Any) -> StreamTranslator:
        raise NotImplementedError

    def estimate(self, request: ChatRequest, translator: StreamTranslator) -> Usage:
        return Usage()


def assert_internal(response: Any) -> str:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {
            "message": "The server had an error processing your request.",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    assert "sk-upstream-123" not in response.text and "Traceback" not in response.text
    return str(response.headers["x-request-id"])


async def test_a_bug_in_a_framework_route_is_a_500_with_a_request_id(
    app: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(_request: Request) -> Response:
        raise ConnectionError("not a database error: a bug")

    app.app.router.routes.append(Route("/boom", boom))
    with caplog.at_level(logging.ERROR, logger="quantized.api"):
        request_id = assert_internal(await app.client.get("/boom"))
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_a_bug_in_a_model_route_is_a_500_and_a_ledger_row(
    app: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = app.app.runtime
    app.app.model_routes["/v1/broken"] = ModelRoute(
        runtime.pipeline, Broken(), OPENAI, max_body_bytes=10_000, budget=app.app.body_budget
    )
    body = {"model": "fake/gpt", "messages": [{"role": "user", "content": "hi"}]}
    with caplog.at_level(logging.ERROR, logger="quantized.api"):
        response = await app.client.post("/v1/broken", json=body, headers=app.headers())
    request_id = assert_internal(response)
    assert any(request_id in r.getMessage() for r in caplog.records)
    assert "sk-upstream-123" in caplog.text  # the details are in the log, for the operator

    def row() -> dict[str, object] | None:
        rows = query(app.database_url, "SELECT * FROM usage WHERE request_id = ?", request_id)
        return rows[0] if rows else None

    recorded = await until(row)
    assert (recorded["status"], recorded["error_code"]) == (500, "internal_error")
    assert recorded["model"] == "fake/gpt"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/admin/v1/keys/", 404, "unknown_path"),
        ("GET", "/nowhere", 404, "unknown_path"),
        ("DELETE", "/healthz", 405, "method_not_allowed"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
    ],
)
async def test_routing_errors(
    app: InProcess, method: str, path: str, status: int, code: str
) -> None:
    response = await app.client.request(method, path, headers=app.headers())
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.headers["x-request-id"].startswith("req_")
    assert "location" not in response.headers


async def test_every_answer_has_a_distinct_request_id(app: InProcess) -> None:
    seen = set()
    for path in ("/healthz", "/v1/models", "/openapi.json", "/admin/v1/keys", "/v1/usage"):
        response = await app.client.get(path, headers=app.headers())
        assert response.status_code == 200, path
        seen.add(response.headers["x-request-id"])
    assert len(seen) == 5
