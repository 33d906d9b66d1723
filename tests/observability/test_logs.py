"""Structured logs of a real server: every line a JSON object (``QUANTIZED_LOG_FORMAT=json``),
one request log line per model request and uvicorn's access line with the access log on, the
same as ``key=value`` text, and never a credential in either format."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest

from quantized.observability.logs import REQUEST_ID_VAR, JsonFormatter, TextFormatter
from quantized.usage.cost import from_pico
from tests.utils.processes import wait_until
from tests.utils.stacks import PROVIDER_KEY, Stack, start_stack

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hello"}]


def stack_with(tmp_path_factory: pytest.TempPathFactory, log_format: str) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp(f"logs-{log_format}"),
        QUANTIZED_LOG_FORMAT=log_format,
        QUANTIZED_ACCESS_LOG="true",
    )
    try:
        yield running
    finally:
        running.gateway.stop()
        running.upstream.stop()


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_with(tmp_path_factory, "json")


@pytest.fixture(scope="module")
def text_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_with(tmp_path_factory, "text")


def chat(stack: Stack) -> str:
    """A chat request's id, once its request log line was written."""
    with stack.client() as client:
        answer = client.post(CHAT, json={"model": "fake/gpt", "messages": HELLO})
    assert answer.status_code == 200
    request_id = answer.headers["x-request-id"]
    wait_until(lambda: any(request_id in line for line in request_lines(stack)))
    return request_id


def request_lines(stack: Stack) -> list[str]:
    return [line for line in served(stack).splitlines() if "quantized.requests" in line]


def served(stack: Stack) -> str:
    """The server's log after the banner that shows the first admin key (on stdout, once)."""
    log = stack.gateway.log()
    assert log.count(stack.admin_key) == 1  # the banner's
    return log.rsplit("=" * 78, 1)[1]


def assert_no_secret(stack: Stack, log: str) -> None:
    for secret in (stack.user_key, stack.admin_key, PROVIDER_KEY):
        assert secret not in log


def test_json_lines_carry_the_request_log_and_the_access_log(json_stack: Stack) -> None:
    request_id = chat(json_stack)
    row = json_stack.row(request_id)
    lines = [orjson.loads(line) for line in served(json_stack).splitlines() if line.strip()]
    for line in lines:
        assert {"timestamp", "level", "logger", "message"} <= line.keys(), line
        assert line["timestamp"].endswith("Z") and len(line["timestamp"]) == 24
    ours = [line for line in lines if line.get("request_id") == request_id]
    (logged,) = [line for line in ours if line["logger"] == "quantized.requests"]
    assert logged["level"] == "INFO"
    assert logged["caller"] == f"key:{row['caller_id']}" and row["caller_kind"] == "key"
    assert (logged["endpoint"], logged["model"], logged["status"]) == ("chat", "fake/gpt", 200)
    assert logged["upstream"] == row["upstream"]
    assert logged["tokens"] == {"prompt": 100, "cached": 40, "completion": 20}
    assert isinstance(logged["cost"], str)
    assert Decimal(logged["cost"]) == from_pico(row["cost_pusd"]) > 0
    assert 0 < logged["latency_ms"] < 30_000
    (access,) = [line for line in ours if line["logger"] == "uvicorn.access"]
    assert (access["method"], access["path"], access["status"]) == ("POST", CHAT, 200)
    assert access["client"].startswith("127.0.0.1:")
    assert_no_secret(json_stack, json_stack.gateway.log().replace(json_stack.admin_key, "", 1))


def test_text_request_log_is_key_value_without_secrets(text_stack: Stack) -> None:
    request_id = chat(text_stack)
    log = served(text_stack)
    (line,) = request_lines(text_stack)
    assert f"request_id={request_id} " in line
    for part in ("model=fake/gpt", "status=200", "tokens.prompt=100", "tokens.cached=40"):
        assert f" {part} " in line
    assert " cost=0." in line and " latency_ms=" in line and " caller=key:" in line
    (access,) = [line for line in log.splitlines() if f'"POST {CHAT} ' in line]
    assert " INFO uvicorn.access: 127.0.0.1:" in access
    assert access.endswith(f'"POST {CHAT} HTTP/1.1" 200 request_id={request_id}')
    assert_no_secret(text_stack, text_stack.gateway.log().replace(text_stack.admin_key, "", 1))


def record(message: str, *args: Any, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(message % args)
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("quantized.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_formatters_scrub_credentials_and_carry_the_request_id() -> None:
    key = "sk-quantized-" + "a1B2c3" * 7 + "x"
    token = REQUEST_ID_VAR.set(b"req_0123")
    try:
        json_line = JsonFormatter().format(record("upstream said: Bearer %s", key, exc=True))
        text_line = TextFormatter().format(record(f"got {key}; Authorization: bearer abc.def"))
    finally:
        REQUEST_ID_VAR.reset(token)
    logged = orjson.loads(json_line)
    assert logged["message"] == "upstream said: Bearer [redacted]"
    assert logged["request_id"] == "req_0123"
    assert "ValueError: upstream said: Bearer [redacted]" in logged["exc_info"]
    assert text_line.endswith(
        "ERROR quantized.test: got [redacted]; Authorization: bearer [redacted] request_id=req_0123"
    )
    assert "sk-" not in json_line + text_line and "abc.def" not in text_line
    assert "task-list-1234567890" in TextFormatter().format(record("task-list-1234567890"))
