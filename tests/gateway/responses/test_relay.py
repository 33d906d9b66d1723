"""The relay of an upstream serving the Responses API: events pass through, the ending one is
held until the stream ends, and its usage is what is billed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quantized.errors import BadGatewayError, InvalidRequestError
from quantized.gateway.responses.relay import ResponsesRelay
from quantized.gateway.responses.request import parse_responses_request
from quantized.gateway.streams import Usage

USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 40},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 5},
}


def event(data: dict[str, Any], named: bool = True, spaced: bool = False) -> bytes:
    text = json.dumps(data) if spaced else json.dumps(data, separators=(",", ":"))
    head = f"event: {data['type']}\n" if named else ""
    return f"{head}data: {text}\n\n".encode()


def stream(ending: str, named: bool = True, spaced: bool = False) -> list[bytes]:
    response = {"id": "resp_1", "object": "response", "output": [], "usage": USAGE}
    return [
        event({"type": "response.created", "sequence_number": 0, "response": {}}, named, spaced),
        event(
            {"type": "response.output_text.delta", "sequence_number": 1, "delta": "hi"},
            named,
            spaced,
        ),
        event({"type": ending, "sequence_number": 2, "response": response}, named, spaced),
    ]


@pytest.mark.parametrize(("named", "spaced"), [(True, False), (False, False), (False, True)])
def test_the_ending_is_held_until_the_stream_ends_and_billed(named: bool, spaced: bool) -> None:
    relay = ResponsesRelay()
    events = stream("response.completed", named, spaced)
    sent = [out for piece in events for out in relay.feed(piece[:7]) + relay.feed(piece[7:])]
    assert sent == events[:2]
    assert relay.finish() == events[2:]
    assert relay.usage == Usage(prompt_tokens=100, cached_tokens=40, completion_tokens=20)
    assert relay.response is not None and relay.response["id"] == "resp_1"
    assert relay.sequence == 3 and relay.chunks == 1 and relay.error_code is None


def test_an_incomplete_response_is_billed_and_kept_a_failed_one_billed_only() -> None:
    incomplete, failed = ResponsesRelay(), ResponsesRelay()
    for piece in stream("response.incomplete"):
        incomplete.feed(piece)
    for piece in stream("response.failed"):
        failed.feed(piece)
    assert incomplete.usage is not None and incomplete.response is not None
    assert incomplete.error_code is None
    assert failed.usage is not None and failed.response is None
    assert failed.error_code == "upstream_failed"


def test_an_error_event_is_passed_on_and_marked() -> None:
    relay = ResponsesRelay()
    error = event({"type": "error", "code": "x", "message": "m", "sequence_number": 4}, False, True)
    assert relay.feed(error) == [error]
    assert relay.error_code == "upstream_error" and relay.finish() == []


def test_a_stream_without_an_ending_is_the_upstreams_fault() -> None:
    relay = ResponsesRelay()
    relay.feed(stream("response.completed")[0])
    with pytest.raises(BadGatewayError):
        relay.finish()


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": 5}]},
            "input[0].output",
        ),
        ({"tools": [{"type": "namespace", "name": "n", "tools": 5}]}, "tools[0]"),
        ({"tools": [{"type": "namespace", "name": "n", "tools": [7]}]}, "tools[0].tools[0]"),
        ({"input": [{"type": "additional_tools", "tools": [{"type": 1}]}]}, "input[0].tools[0]"),
        ({"tool_choice": {"type": "allowed_tools", "tools": 5}}, "tool_choice.tools"),
        (
            {"tool_choice": {"type": "allowed_tools", "tools": [{"namespace": []}]}},
            "tool_choice.tools",
        ),
        ({"tool_choice": 5}, "tool_choice"),
    ],
)
def test_shapes_the_translation_cannot_read_are_400s(extra: dict[str, Any], param: str) -> None:
    body = {"model": "m", "input": "hi", **extra}
    with pytest.raises(InvalidRequestError) as refused:
        parse_responses_request(json.dumps(body).encode())
    assert refused.value.param == param
