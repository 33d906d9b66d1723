"""Responses from upstreams that serve only chat completions, or Anthropic's Messages API:
translated both ways, streamed as the Responses API's exact event sequence."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import openai
import pytest

from tests.utils.openai_clients import RESPONSE, checked_events, post_stream, sdk
from tests.utils.stacks import Stack

MODELS = ["fake/gpt", "fake/claude"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch"'},
}


@pytest.mark.parametrize("model", MODELS)
def test_text_whole_and_billed(stack: Stack, model: str) -> None:
    raw = sdk(stack).responses.with_raw_response.create(
        model=model, input="hello", instructions="be brief"
    )
    response = raw.parse()
    RESPONSE.validate_python(raw.http_response.json())
    assert response.output_text.startswith("echo: hello")
    assert response.model == model and response.status == "completed"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.input_tokens_details.cached_tokens) == (100, 40)
    assert usage.output_tokens == 20 and usage.total_tokens == 120
    row = stack.row(raw.headers["x-request-id"])
    assert Decimal(row["cost_pusd"]) == Decimal("400") * 10**6
    sent = stack.upstream.seen[-1].body
    system = sent["system"] if model == "fake/claude" else sent["messages"][0]["content"]
    assert "be brief" in str(system)


@pytest.mark.parametrize("model", MODELS)
def test_a_stream_is_the_exact_event_sequence(stack: Stack, model: str) -> None:
    answer = post_stream(stack, {"model": model, "input": "hello there"})
    assert answer.status_code == 200
    events = checked_events(answer.text)
    kinds = [e["type"] for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text.startswith("echo: hello there")
    final = events[-1]["response"]
    assert final["usage"]["input_tokens"] == 100 and final["usage"]["output_tokens"] == 20
    assert final["output"][0]["content"][0]["text"] == text


@pytest.mark.parametrize("model", MODELS)
def test_a_function_call_round_trip(stack: Stack, model: str) -> None:
    client = sdk(stack)
    first = client.responses.create(
        model=model, input="weather in Paris?", tools=[WEATHER], store=False
    )
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and call.call_id
    json.loads(call.arguments)
    second = client.responses.create(
        model=model,
        store=False,
        tools=[WEATHER],
        input=[
            {"role": "user", "content": "weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
                "id": "fc_client",
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
    )
    assert second.output_text
    sent = str(stack.upstream.seen[-1].body)
    assert "sunny" in sent and call.call_id in sent


def test_streamed_function_call_events(stack: Stack) -> None:
    answer = post_stream(stack, {"model": "fake/gpt", "input": "weather?", "tools": [WEATHER]})
    events = checked_events(answer.text)
    kinds = [e["type"] for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    item = next(
        e["item"]
        for e in events
        if e["type"] == "response.output_item.done" and e["item"]["type"] == "function_call"
    )
    assert item["arguments"] == done["arguments"] and item["name"] == "get_weather"


def test_custom_and_namespace_tools_are_functions_to_the_upstream(stack: Stack) -> None:
    namespace = {
        "type": "namespace",
        "name": "mcp_files",
        "description": "Files",
        "tools": [{**WEATHER, "name": "read"}],
    }
    raw = sdk(stack).responses.with_raw_response.create(
        model="fake/gpt",
        input=[
            {"role": "developer", "content": "you are Codex"},
            {"role": "user", "content": "patch it"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [],
                "encrypted_content": "opaque",
                "content": None,
            },
        ],
        tools=[PATCH, namespace, {"type": "web_search"}],  # type: ignore[list-item]
        store=False,
    )
    sent = stack.upstream.seen[-1].body
    names = [t["function"]["name"] for t in sent["tools"]]
    assert names[0] == "apply_patch" and len(names) == 2 and "read" in names[1]
    assert "Begin Patch" in json.dumps(sent["tools"][0])
    assert "opaque" not in json.dumps(sent)  # reasoning items are not sent to chat upstreams
    assert "web_search" in raw.headers["x-quantized-warning"]
    output = raw.parse().output
    assert output[0].type == "custom_tool_call" and output[0].name == "apply_patch"


def test_a_required_hosted_tool_is_refused(stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(stack).responses.create(
            model="fake/gpt",
            input="search",
            tools=[{"type": "web_search"}],
            tool_choice={"type": "web_search"},  # type: ignore[typeddict-item]
        )
    assert refused.value.body["param"] == "tool_choice"  # type: ignore[index]


def test_an_embedding_only_or_unknown_model_is_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway.url, timeout=10) as client:
        answer = client.post(
            "/v1/responses",
            json={"model": "fake/nope", "input": "x"},
            headers={"Authorization": f"Bearer {stack.user_key}"},
        )
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "model"
