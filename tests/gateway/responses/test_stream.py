"""Chat streams as Responses API events, fed in small pieces through ``OpenAIStream``.

Every event is validated with the OpenAI SDK's own types (strictly) and the
order checked (see ``support.check_order``): numbered from 0, one item at a
time, each item's own events between its ``added`` and ``done``.
"""

from __future__ import annotations

import json

import pytest

from quantized.errors import BadGatewayError
from quantized.gateway.providers.openai import OpenAIProvider
from quantized.gateway.responses.from_chat import ResponsesFromChat
from quantized.gateway.responses.to_chat import translate
from tests.gateway.responses.support import (
    accumulated,
    call,
    chunk,
    model,
    parse,
    request,
    stream,
    usage_chunk,
    valid_response,
)

ROLE = chunk({"role": "assistant", "content": ""})
CUSTOM = {"type": "custom", "name": "apply_patch", "description": "Edit files."}
NAMESPACE = {
    "type": "namespace",
    "name": "mcp__docs__",
    "description": "Docs server.",
    "tools": [{"type": "function", "name": "search", "parameters": {"type": "object"}}],
}


def test_text_in_the_exact_event_sequence() -> None:
    found = stream(ROLE, chunk({"content": "Hel"}), chunk({"content": "lo."}), chunk(finish="stop"))
    assert found.types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert found.of("response.output_text.done")[0]["text"] == "Hello."
    assert found.events[0]["response"]["status"] == "in_progress"
    assert found.events[0]["response"]["output"] == []
    item = found.response["output"][0]
    assert item["id"].startswith("msg_") and item["status"] == "completed"
    assert item["content"] == [
        {"type": "output_text", "text": "Hello.", "annotations": [], "logprobs": []}
    ]
    final = accumulated(found.events)
    assert final.output_text == "Hello." and final.id == "resp_0123"


def test_reasoning_content_then_text() -> None:
    found = stream(
        chunk({"reasoning_content": "The user "}),
        chunk({"reasoning_content": "greets."}),
        chunk({"content": "Hi!"}),
        chunk(finish="stop"),
        usage_chunk(20, 9, reasoning=5),
    )
    reasoning, message = found.response["output"]
    assert reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "The user greets."}]
    assert [e["delta"] for e in found.of("response.reasoning_summary_text.delta")] == [
        "The user ",
        "greets.",
    ]
    assert message["content"][0]["text"] == "Hi!"
    assert found.response["usage"]["output_tokens_details"] == {"reasoning_tokens": 5}
    valid_response(found.response)


def test_reasoning_as_openrouter_names_it() -> None:
    found = stream(chunk({"reasoning": "hmm"}), chunk({"content": "ok"}), chunk(finish="stop"))
    assert [item["type"] for item in found.response["output"]] == ["reasoning", "message"]


def test_one_tool_call_after_text() -> None:
    tools = [{"type": "function", "name": "read", "parameters": {"type": "object"}}]
    found = stream(
        chunk({"content": "Reading."}),
        chunk(call(0, "call_a", "read", '{"pa')),
        chunk(call(0, args='th": "a.py"}')),
        chunk(finish="tool_calls"),
        found=request(stream=True, tools=tools),
    )
    message, function = found.response["output"]
    assert message["type"] == "message"
    assert function["type"] == "function_call" and function["id"].startswith("fc_")
    assert (function["call_id"], function["name"]) == ("call_a", "read")
    assert json.loads(function["arguments"]) == {"path": "a.py"}
    assert "namespace" not in function
    done = found.of("response.function_call_arguments.done")[0]
    assert done["arguments"] == function["arguments"]
    assert found.response["status"] == "completed"


def test_two_parallel_calls_interleaved() -> None:
    found = stream(
        chunk(call(0, "call_a", "read", "")),
        chunk(call(1, "call_b", "grep", "")),
        chunk(call(0, args='{"path": "a"}')),
        chunk(call(1, args='{"q": "b"}')),
        chunk(finish="tool_calls"),
    )
    calls = [(i["call_id"], i["name"], i["arguments"]) for i in found.response["output"]]
    assert calls == [("call_a", "read", '{"path": "a"}'), ("call_b", "grep", '{"q": "b"}')]
    assert [e["output_index"] for e in found.of("response.output_item.added")] == [0, 1]
    assert len({item["id"] for item in found.response["output"]}) == 2


def test_a_custom_tool_call_gets_its_input_verbatim() -> None:
    patch = '*** Begin Patch\n*** Add File: a.txt\n+hi "there"\n*** End Patch\n'
    arguments = json.dumps({"input": patch})
    found = stream(
        chunk(call(0, "call_p", "apply_patch", arguments[:9])),
        chunk(call(0, args=arguments[9:])),
        chunk(finish="tool_calls"),
        found=request(stream=True, tools=[CUSTOM]),
    )
    (item,) = found.response["output"]
    assert item["type"] == "custom_tool_call" and item["id"].startswith("ctc_")
    assert (item["call_id"], item["name"], item["input"]) == ("call_p", "apply_patch", patch)
    assert found.of("response.custom_tool_call_input.delta")[0]["delta"] == patch
    assert found.of("response.custom_tool_call_input.done")[0]["input"] == patch
    added = found.of("response.output_item.added")[0]["item"]
    assert added["input"] == "" and added["status"] == "in_progress"


def test_a_namespaced_call_comes_back_with_its_namespace() -> None:
    found = stream(
        chunk(call(0, "call_n", "mcp__docs__search", '{"query": "x"}')),
        chunk(finish="tool_calls"),
        found=request(stream=True, tools=[NAMESPACE]),
    )
    (item,) = found.response["output"]
    assert (item["type"], item["name"], item["namespace"]) == (
        "function_call",
        "search",
        "mcp__docs__",
    )


def test_a_call_without_an_id_gets_one() -> None:
    found = stream(
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ""}}]}),
        chunk(finish="tool_calls"),
    )
    (item,) = found.response["output"]
    assert item["call_id"].startswith("call_") and item["arguments"] == "{}"


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_a_cut_answer_is_incomplete(finish: str, reason: str) -> None:
    found = stream(chunk({"content": "Once upon a"}), chunk(finish=finish))
    assert found.types[-1] == "response.incomplete"
    assert found.response["status"] == "incomplete"
    assert found.response["incomplete_details"] == {"reason": reason}
    assert found.response["output"][0]["status"] == "incomplete"
    valid_response(found.response)


def test_usage_with_cached_and_reasoning_tokens() -> None:
    found = stream(chunk({"content": "a"}), chunk(finish="stop"), usage_chunk(100, 30, 64, 12))
    assert found.response["usage"] == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 130,
    }
    usage = found.translator.usage
    assert usage is not None and (usage.prompt_tokens, usage.cached_tokens) == (100, 64)
    assert found.translator.response == found.response


def test_without_upstream_usage_the_client_gets_an_estimate() -> None:
    found = stream(chunk({"content": "a"}), chunk({"content": "b"}), chunk(finish="stop"))
    assert found.response["usage"]["output_tokens"] == 2
    assert found.translator.usage is None  # the ledger estimates, and flags the row


def test_an_empty_answer_is_complete_with_no_output() -> None:
    found = stream(ROLE, chunk(finish="stop"))
    assert found.types == ["response.created", "response.in_progress", "response.completed"]
    assert found.response["output"] == []


def test_the_response_echoes_the_request() -> None:
    found = stream(
        chunk({"content": "a"}),
        chunk(finish="stop"),
        found=request(
            stream=True,
            instructions="Be brief.",
            tools=[CUSTOM, {"type": "web_search"}],
            tool_choice="auto",
            temperature=0.2,
            max_output_tokens=50,
            reasoning={"effort": "low", "summary": "auto"},
            text={"verbosity": "low"},
            store=False,
            metadata={"k": "v"},
        ),
    )
    response = found.response
    assert response["model"] == "acme/m" and response["instructions"] == "Be brief."
    assert response["tools"] == [CUSTOM, {"type": "web_search"}]
    assert (response["temperature"], response["max_output_tokens"]) == (0.2, 50)
    assert response["reasoning"] == {"effort": "low", "summary": "auto"}
    assert (response["store"], response["metadata"]) == (False, {"k": "v"})
    assert (response["parallel_tool_calls"], response["truncation"]) == (True, "disabled")
    assert valid_response(response).text is not None


@pytest.mark.parametrize(
    "broken",
    [
        [chunk({"content": "a"}), b'data: {"error": {"message": "CUDA OOM"}}\n\n'],
        [chunk({"content": "a"}), chunk(finish="error", error={"message": "provider down"})],
        [chunk({"content": "a"})],  # the stream just ends
    ],
)
def test_an_upstream_error_in_the_stream_is_an_error_not_a_completion(broken: list[bytes]) -> None:
    with pytest.raises(BadGatewayError):
        stream(*broken)


def test_an_error_event_after_a_break_is_numbered_after_the_events_sent() -> None:
    found = request(stream=True)
    translation = translate(found, model())
    inner = OpenAIProvider().translator(translation.chat)
    translator = ResponsesFromChat(inner, found, translation, "resp_0123", 1_700_000_000)
    sent = translator.feed(ROLE + chunk({"content": "a"}) + chunk({"content": "b"}))
    assert [parse(event)["sequence_number"] for event in sent] == list(range(len(sent)))
    assert len(sent) > 2 and translator.sequence == len(sent)
    with pytest.raises(BadGatewayError):
        translator.finish()
