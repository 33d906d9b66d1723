"""OpenTelemetry traces of a real server, exported by the SDK over OTLP/HTTP to a receiver that
decodes them with ``opentelemetry-proto``: GenAI attributes, the client's trace continued,
and the upstream handed the context of its attempt's span."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.utils.otlp import Receiver, Span
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack, start_stack

SERVER, CLIENT = 2, 3
ERROR = 2
HELLO = [{"role": "user", "content": "a secret prompt"}]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("traces"),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    try:
        yield running
    finally:
        running.gateway.stop()
        running.upstream.stop()


def traced(stack: Stack, model: str, **extra: Any) -> tuple[str, str, Any]:
    """Send a chat with a client's trace context; returns (trace id, parent span id, answer)."""
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{parent}-01"}
    with stack.client() as client:
        body = {"model": model, "messages": HELLO, **extra}
        answer = client.post("/v1/chat/completions", json=body, headers=headers)
    return trace_id, parent, answer


def spans(receiver: Receiver, trace_id: str, count: int) -> list[Span]:
    return wait_until(
        lambda: found if len(found := receiver.of_trace(trace_id)) >= count else None,
        timeout=10,
    )


def test_a_chat_is_a_server_span_with_genai_attributes_and_a_client_span_upstream(
    stack: Stack, receiver: Receiver
) -> None:
    trace_id, parent, answer = traced(stack, "fake/gpt")
    assert answer.status_code == 200
    found = spans(receiver, trace_id, 2)
    (server,) = [span for span in found if span.kind == SERVER]
    (client,) = [span for span in found if span.kind == CLIENT]
    assert server.parent_span_id == parent  # the client's trace, continued
    assert client.parent_span_id == server.span_id
    assert server.name == "chat fake/gpt" and server.service == "quantized"
    attributes = server.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "fake/gpt"
    assert attributes["gen_ai.response.model"] == "usage-100-40-20"
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["quantized.cost_usd"] == "0.0004"
    assert attributes["quantized.caller.kind"] == "key"
    assert attributes["quantized.request_id"] == answer.headers["x-request-id"]
    assert client.attributes["gen_ai.request.model"] == "usage-100-40-20"
    seen = stack.upstream.seen[-1].headers
    assert seen["traceparent"] == f"00-{trace_id}-{client.span_id}-01"  # passed on upstream
    everything = repr([span.attributes for span in found])
    assert "a secret prompt" not in everything and stack.user_key not in everything


def test_each_upstream_attempt_is_a_span_and_failures_are_marked(
    stack: Stack, receiver: Receiver
) -> None:
    trace_id, _, answer = traced(stack, "fake/fallback")
    assert answer.status_code == 200
    found = spans(receiver, trace_id, 3)
    attempts = sorted(
        (s for s in found if s.kind == CLIENT), key=lambda s: s.attributes["gen_ai.request.model"]
    )
    assert [s.attributes["gen_ai.request.model"] for s in attempts] == ["echo", "fail-500"]
    assert attempts[1].status == ERROR and attempts[1].attributes["error.type"] == "500"
    assert attempts[0].status != ERROR


def test_a_streamed_and_a_refused_request_are_traced(stack: Stack, receiver: Receiver) -> None:
    trace_id, _, answer = traced(stack, "fake/claude", stream=True)
    assert answer.status_code == 200
    server = [s for s in spans(receiver, trace_id, 2) if s.kind == SERVER][0]
    assert server.attributes["gen_ai.provider.name"] == "anthropic"
    assert server.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert server.attributes["gen_ai.usage.output_tokens"] == 20

    trace_id, _, answer = traced(stack, "fake/rejects")
    assert answer.status_code == 400
    server = [s for s in spans(receiver, trace_id, 2) if s.kind == SERVER][0]
    assert server.status == ERROR and server.attributes["http.response.status_code"] == 400


def test_without_an_endpoint_the_sdk_is_never_imported() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "QUANTIZED_"))}
    code = (
        "import sys; from quantized.app import create_app; create_app(); "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('opentelemetry')}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
