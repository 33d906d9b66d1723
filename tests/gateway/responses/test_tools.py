"""Responses API tools and tool_choice as chat's, and chat names back to the client's tools."""

from __future__ import annotations

import re
from typing import Any

import pytest

from quantized.errors import InvalidRequestError
from quantized.gateway.responses.to_chat import translate
from quantized.gateway.responses.tools import ClientTool, ToolNames, chat_tools, flat_name
from tests.gateway.responses.support import chat, model, request

NAME_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
FUNCTION = {"type": "function", "name": "search", "description": "Finds.", "parameters": SCHEMA}
GRAMMAR = 'start: "*** Begin Patch" LF hunk+ "*** End Patch"'
CUSTOM = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edits files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": GRAMMAR},
}
NAMESPACE = {
    "type": "namespace",
    "name": "mcp__docs__",
    "description": "The docs server.",
    "tools": [
        {
            "type": "function",
            "name": "search",
            "description": "Searches docs.",
            "parameters": SCHEMA,
        },
        {"type": "custom", "name": "note"},
    ],
}
HOSTED = [{"type": "web_search"}, {"type": "tool_search"}, {"type": "web_search"}]


def functions(tools: list[Any], choice: Any = None) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in chat_tools(tools, choice).tools}


def test_a_function_tool() -> None:
    found = functions([{**FUNCTION, "strict": False}, {"type": "function", "name": "bare"}])
    assert found["search"] == {"name": "search", "description": "Finds.", "parameters": SCHEMA}
    assert found["bare"]["parameters"] == {"type": "object", "properties": {}}
    assert functions([{**FUNCTION, "strict": True}])["search"]["strict"] is True


def test_a_custom_tool_takes_its_input_as_one_string_described_by_its_grammar() -> None:
    function = functions([CUSTOM])["apply_patch"]
    assert function["description"] == "Edits files."
    parameters = function["parameters"]
    assert parameters["required"] == ["input"] and parameters["additionalProperties"] is False
    assert parameters["properties"]["input"]["type"] == "string"
    assert GRAMMAR in parameters["properties"]["input"]["description"]
    assert "Lark" in parameters["properties"]["input"]["description"]
    regex = {
        "type": "custom",
        "name": "r",
        "format": {"type": "grammar", "syntax": "regex", "definition": "^[0-9]+$"},
    }
    assert "^[0-9]+$" in functions([regex])["r"]["parameters"]["properties"]["input"]["description"]
    free = functions([{"type": "custom", "name": "f", "format": {"type": "text"}}])["f"]
    assert "free text" in free["parameters"]["properties"]["input"]["description"]


def test_a_namespace_is_flattened_and_mapped_back() -> None:
    found = chat_tools([NAMESPACE, FUNCTION], None)
    names = [t["function"]["name"] for t in found.tools]
    assert names == ["mcp__docs__search", "mcp__docs__note", "search"]
    assert "The docs server." in found.tools[0]["function"]["description"]
    assert found.names.client("mcp__docs__search") == ClientTool(
        "function", "search", "mcp__docs__"
    )
    assert found.names.client("mcp__docs__note") == ClientTool("custom", "note", "mcp__docs__")
    assert found.names.client("search") == ClientTool("function", "search")
    assert found.names.client("made_up") == ClientTool("function", "made_up")


def test_hosted_tools_are_dropped_and_named_once() -> None:
    found = chat_tools([*HOSTED, FUNCTION, {"type": "file_search", "vector_store_ids": []}], None)
    assert [t["function"]["name"] for t in found.tools] == ["search"]
    assert found.dropped == ["web_search", "tool_search", "file_search"]
    translation = translate(request(tools=HOSTED), model())
    assert translation.dropped == ["web_search", "tool_search"]
    assert "tools" not in translation.chat.body and "tool_choice" not in translation.chat.body


def test_additional_tools_items_add_tools() -> None:
    extra = {"type": "additional_tools", "role": "developer", "tools": [CUSTOM]}
    body = chat(request(input=[extra, {"role": "user", "content": "go"}], tools=[FUNCTION]))
    assert [t["function"]["name"] for t in body["tools"]] == ["search", "apply_patch"]
    assert body["messages"] == [{"role": "user", "content": "go"}]


def test_names_follow_chats_rule_the_same_way_every_time() -> None:
    long = "x" * 80
    assert flat_name("get.weather", "svc v2") == "svc_v2__get_weather"
    assert flat_name("_tool", "ns__") == "ns__tool"
    assert NAME_RULE.match(flat_name(long, "ns")) and flat_name(long, "ns") == flat_name(long, "ns")
    assert flat_name(long + "a", "ns") != flat_name(long + "b", "ns")
    assert NAME_RULE.match(flat_name(""))


def test_tools_that_flatten_to_one_name_stay_apart() -> None:
    names = ToolNames()
    plain = names.add(ClientTool("function", "crm__lookup"))
    spaced = names.add(ClientTool("function", "lookup", "crm"))
    assert plain == "crm__lookup" and spaced != plain and NAME_RULE.match(spaced)
    assert names.client(spaced) == ClientTool("function", "lookup", "crm")
    assert names.chat_name("lookup", "crm") == spaced


def test_calls_sent_back_use_the_names_the_tools_were_given() -> None:
    items = [
        {
            "type": "function_call",
            "call_id": "c1",
            "name": "search",
            "namespace": "mcp__docs__",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "c1", "output": "r"},
        {
            "type": "function_call",
            "call_id": "c2",
            "name": "gone",
            "namespace": "old",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "c2", "output": "r"},
    ]
    body = chat(request(input=items, tools=[NAMESPACE]))
    calls = [m["tool_calls"][0]["function"]["name"] for m in body["messages"] if "tool_calls" in m]
    assert calls == ["mcp__docs__search", "old__gone"]  # a tool no longer declared: its flat name


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_plain_tool_choices(choice: str) -> None:
    assert chat(request(tools=[FUNCTION], tool_choice=choice))["tool_choice"] == choice


@pytest.mark.parametrize(
    ("choice", "name"),
    [
        ({"type": "function", "name": "search"}, "search"),
        ({"type": "custom", "name": "apply_patch"}, "apply_patch"),
        ({"type": "function", "name": "search", "namespace": "mcp__docs__"}, "mcp__docs__search"),
    ],
)
def test_a_named_tool_choice(choice: dict[str, Any], name: str) -> None:
    body = chat(request(tools=[FUNCTION, CUSTOM, NAMESPACE], tool_choice=choice))
    assert body["tool_choice"] == {"type": "function", "function": {"name": name}}


def test_allowed_tools_keep_only_those_tools() -> None:
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "custom", "name": "apply_patch"}, {"type": "web_search"}],
    }
    body = chat(request(tools=[FUNCTION, CUSTOM, *HOSTED], tool_choice=choice))
    assert [t["function"]["name"] for t in body["tools"]] == ["apply_patch"]
    assert body["tool_choice"] == "required"


@pytest.mark.parametrize(
    "choice",
    [
        "required",
        {"type": "web_search_preview"},
        {"type": "file_search"},
        {"type": "mcp", "server_label": "deepwiki"},
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]},
        {"type": "function", "name": "not_declared"},
    ],
)
def test_a_tool_choice_the_upstream_cannot_honour_is_a_400(choice: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat(request(tools=HOSTED, tool_choice=choice))
    assert caught.value.param == "tool_choice"


def test_no_tool_choice_without_tools() -> None:
    assert "tool_choice" not in chat(request(tool_choice="auto"))
