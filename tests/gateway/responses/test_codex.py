"""A Codex CLI request (``fixtures/codex_request.json``) translated, answered and continued.

The fixture has Codex's shape: instructions, a developer message of 20+ KB,
client-made ids on items, reasoning items sent back with their encrypted
content, function, custom (Lark grammar) and namespaced calls with their
outputs, an ``additional_tools`` item, and hosted tools the upstream cannot run.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from quantized.gateway.responses.request import parse_responses_request
from quantized.gateway.responses.to_chat import Translation, translate
from quantized.gateway.surfaces.chat import parse_chat_request
from tests.gateway.responses.support import call, chunk, codex_body, model, stream, usage_chunk


def codex(body: dict[str, Any] | None = None) -> tuple[dict[str, Any], Translation]:
    body = body or codex_body()
    return body, translate(parse_responses_request(orjson.dumps(body)), model("reasoning"))


def check_tool_calls_answered(messages: list[dict[str, Any]]) -> None:
    """Chat's rule: an assistant message's tool calls are answered by the tool messages
    right after it, and a tool message answers a call."""
    waiting: set[str] = set()
    for found in messages:
        if found["role"] == "tool":
            assert found["tool_call_id"] in waiting
            waiting.discard(found["tool_call_id"])
            continue
        assert not waiting, f"unanswered calls {waiting} before a {found['role']} message"
        waiting = {c["id"] for c in found.get("tool_calls") or ()}
    assert not waiting


def test_the_codex_request_as_chat() -> None:
    body, translation = codex()
    chat = translation.chat.body
    messages = chat["messages"]
    assert messages[0] == {"role": "system", "content": body["instructions"]}
    assert messages[1]["role"] == "system" and len(messages[1]["content"]) > 20_000
    assert messages[2]["role"] == "user" and len(messages[2]["content"]) == 2
    check_tool_calls_answered(messages)
    assert b"encrypted_content" not in orjson.dumps(chat)
    assert b"gAAAAB" not in orjson.dumps(chat)
    names = [t["function"]["name"] for t in chat["tools"]]
    assert names == [
        "exec_command",
        "write_stdin",
        "update_plan",
        "apply_patch",
        "view_image",
        "mcp__docs__search",
        "mcp__docs__read_page",
        "run_tests",
    ]
    assert translation.dropped == ["tool_search", "web_search"]
    assert (chat["tool_choice"], chat["parallel_tool_calls"]) == ("auto", True)
    assert chat["reasoning_effort"] == "medium"
    assert chat["prompt_cache_key"] == body["prompt_cache_key"]
    assert not {"include", "store", "text", "client_metadata", "reasoning"} & chat.keys()
    assert chat["stream_options"] == {"include_usage": True}
    parse_chat_request(orjson.dumps(chat))


def test_codex_calls_sent_back() -> None:
    body, translation = codex()
    calls = {
        c["id"]: c["function"]
        for m in translation.chat.body["messages"]
        for c in m.get("tool_calls") or ()
    }
    patch = next(i for i in body["input"] if i["type"] == "custom_tool_call")
    assert json.loads(calls["call_0005XyZ"]["arguments"]) == {"input": patch["input"]}
    assert calls["call_0005XyZ"]["name"] == "apply_patch"
    assert calls["call_0003XyZ"]["name"] == "mcp__docs__search"
    assert json.loads(calls["call_0001XyZ"]["arguments"])["cmd"].startswith("rg ")
    outputs = {
        m["tool_call_id"]: m["content"]
        for m in translation.chat.body["messages"]
        if m["role"] == "tool"
    }
    assert outputs["call_0003XyZ"].startswith("docs/tokens.md")
    assert outputs["call_0005XyZ"].startswith("Success.")
    (assistant,) = [
        m
        for m in translation.chat.body["messages"]
        if m.get("content") and m["role"] == "assistant"
    ]
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_0005XyZ"]


def test_a_codex_turn_answered_and_continued() -> None:
    """The answer's output items, sent back as Codex does, make the same chat calls."""
    body = codex_body()
    found = parse_responses_request(orjson.dumps(body))
    patch = json.dumps({"input": "*** Begin Patch\n*** End Patch\n"})
    answered = stream(
        chunk({"reasoning_content": "Run the test, then patch."}),
        chunk(call(0, "call_t", "run_tests", '{"selector": "tests/test_parser.py"}')),
        chunk(call(1, "call_p", "apply_patch", patch)),
        chunk(call(2, "call_d", "mcp__docs__read_page", '{"path": "docs/tokens.md"}')),
        chunk(finish="tool_calls"),
        usage_chunk(9000, 120, cached=8000, reasoning=40),
        found=found,
    )
    output = answered.response["output"]
    assert [(i["type"], i["name"], i.get("namespace")) for i in output[1:]] == [
        ("function_call", "run_tests", None),
        ("custom_tool_call", "apply_patch", None),
        ("function_call", "read_page", "mcp__docs__"),
    ]
    assert output[2]["input"] == "*** Begin Patch\n*** End Patch\n"
    results = [
        {"type": "function_call_output", "call_id": "call_t", "output": "1 passed"},
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Success."},
        {"type": "function_call_output", "call_id": "call_d", "output": "Tokens..."},
    ]
    body["input"] = [*body["input"], *output, *results]
    _, translation = codex(body)
    last = translation.chat.body["messages"][-4]
    assert [(c["id"], c["function"]["name"]) for c in last["tool_calls"]] == [
        ("call_t", "run_tests"),
        ("call_p", "apply_patch"),
        ("call_d", "mcp__docs__read_page"),
    ]
    assert json.loads(last["tool_calls"][1]["function"]["arguments"]) == json.loads(patch)
    check_tool_calls_answered(translation.chat.body["messages"])
