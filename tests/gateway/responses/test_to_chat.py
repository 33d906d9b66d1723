"""Responses API requests as chat completions requests: messages, items and parameters."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.gateway.responses.to_chat import translate
from quantized.gateway.surfaces.chat import parse_chat_request
from tests.gateway.responses.support import chat, model, request

IMAGE = "data:image/png;base64,iVBORw0KGgo="


def message(role: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": list(parts)}


def text(value: str, kind: str = "input_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def function_call(call_id: str, name: str = "read", **extra: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": "{}", **extra}


def output(call_id: str, value: Any = "ok", kind: str = "function_call_output") -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "output": value}


def messages(*items: dict[str, Any], **body: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = chat(request(input=list(items), **body))["messages"]
    return found


def test_instructions_first_and_developer_messages_as_system() -> None:
    found = messages(
        message("developer", text("Use tools."), text("Be careful.")),
        message("system", text("Sys.")),
        {"role": "user", "content": "hi"},  # no type: an "easy" message
        instructions="You are a coding agent.",
    )
    assert found == [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "system", "content": "Use tools.\n\nBe careful."},
        {"role": "system", "content": "Sys."},
        {"role": "user", "content": "hi"},
    ]


def test_a_string_input_is_one_user_message() -> None:
    assert chat(request(input="hello"))["messages"] == [{"role": "user", "content": "hello"}]


def test_content_parts() -> None:
    audio = {"data": "UklGRg==", "format": "wav"}
    (user,) = messages(
        message(
            "user",
            text("look"),
            {"type": "input_image", "image_url": IMAGE, "detail": "high"},
            {"type": "input_image", "image_url": "https://x/a.png", "detail": "auto"},
            {"type": "input_image", "file_id": "file-img"},
            {
                "type": "input_file",
                "file_data": "data:application/pdf;base64,JVBE",
                "filename": "a.pdf",
            },
            {"type": "input_file", "file_id": "file-1"},
            {"type": "input_file", "file_url": "https://x/b.pdf"},
            {"type": "input_audio", "input_audio": audio},
        )
    )
    assert user["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": IMAGE, "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
        {"type": "file", "file": {"file_id": "file-img"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
        },
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "text", "text": "(A file at https://x/b.pdf)"},
        {"type": "input_audio", "input_audio": audio},
    ]


def test_calls_join_the_assistant_message_before_them() -> None:
    found = messages(
        {"role": "user", "content": "fix it"},
        message("assistant", text("Looking", "output_text"), text(" now.", "output_text")),
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
        function_call("c1", arguments='{"path": "a"}'),
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** P\n"},
        output("c1", "A"),
        output("c2", "done", "custom_tool_call_output"),
    )
    assert found[1:] == [
        {
            "role": "assistant",
            "content": "Looking now.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path": "a"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "apply_patch", "arguments": '{"input":"*** P\\n"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "A"},
        {"role": "tool", "tool_call_id": "c2", "content": "done"},
    ]


def test_calls_without_an_assistant_message_make_one() -> None:
    found = messages(function_call("c1"), output("c1"), function_call("c2"), output("c2"))
    assert [(m["role"], m.get("content")) for m in found] == [
        ("assistant", None),
        ("tool", "ok"),
        ("assistant", None),
        ("tool", "ok"),
    ]


def test_list_outputs_give_their_text_and_their_images_follow_the_results() -> None:
    image = {"type": "input_image", "image_url": IMAGE}
    found = messages(
        function_call("c1"),
        function_call("c2"),
        output("c1", [text("line 1"), image, text("line 2")]),
        output("c2", [text("second")]),
        {"role": "user", "content": "next"},
    )
    assert found[1:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "line 1\n\nline 2"},
        {"role": "tool", "tool_call_id": "c2", "content": "second"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]},
        {"role": "user", "content": "next"},
    ]


def test_a_developer_message_between_a_call_and_its_output_follows_the_output() -> None:
    found = messages(function_call("c1"), message("developer", text("Note.")), output("c1"))
    assert [m["role"] for m in found] == ["assistant", "tool", "system"]


def test_reasoning_and_items_chat_cannot_hold_are_dropped() -> None:
    found = messages(
        {"role": "user", "content": "q"},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": None,
            "encrypted_content": "x",
        },
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {}},
        {"type": "item_reference", "id": "msg_0"},
        message("assistant", text("a", "output_text")),
    )
    assert found == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def test_the_stored_conversation_comes_first() -> None:
    found = request(input="and now?")
    found.history = [{"type": "message", "role": "user", "content": "before"}]
    assert [m["content"] for m in chat(found)["messages"]] == ["before", "and now?"]


@pytest.mark.parametrize(
    ("effort", "expected"),
    [
        ("minimal", "low"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "high"),
        ("none", None),
    ],
)
def test_reasoning_effort_for_reasoning_models(effort: str, expected: str | None) -> None:
    body = chat(request(reasoning={"effort": effort, "summary": "auto"}), "reasoning")
    assert body.get("reasoning_effort") == expected
    assert "reasoning" not in body
    assert "reasoning_effort" not in chat(request(reasoning={"effort": effort}))


def test_max_output_tokens() -> None:
    assert chat(request(max_output_tokens=500), "reasoning")["max_completion_tokens"] == 500
    assert chat(request(max_output_tokens=500))["max_tokens"] == 500
    small = translate(request(max_output_tokens=500), model(context_length=300)).chat.body
    assert small["max_tokens"] == 300


def test_parameters_kept_and_left_out() -> None:
    body = chat(
        request(
            temperature=0.3,
            top_p=0.9,
            prompt_cache_key="k1",
            safety_identifier="u-hash",
            user="u1",
            parallel_tool_calls=False,
            tools=[{"type": "function", "name": "f"}],
            text={"verbosity": "low"},
            include=["reasoning.encrypted_content"],
            store=False,
            client_metadata={"originator": "codex"},
            metadata={"a": "b"},
            truncation="auto",
            previous_response_id="resp_1",
            instructions="x",
        )
    )
    assert {k: body[k] for k in ("temperature", "top_p", "prompt_cache_key")} == {
        "temperature": 0.3,
        "top_p": 0.9,
        "prompt_cache_key": "k1",
    }
    assert (body["safety_identifier"], body["user"], body["parallel_tool_calls"]) == (
        "u-hash",
        "u1",
        False,
    )
    left_out = {"text", "include", "store", "client_metadata", "metadata", "truncation"}
    assert not left_out & body.keys()
    assert not {"previous_response_id", "instructions", "input"} & body.keys()


def test_parallel_tool_calls_only_with_tools() -> None:
    assert "parallel_tool_calls" not in chat(request(parallel_tool_calls=True))


def test_text_formats() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    spec = {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
    assert chat(request(text={"format": spec, "verbosity": "low"}))["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    json_object = chat(request(text={"format": {"type": "json_object"}}))
    assert json_object["response_format"] == {"type": "json_object"}
    assert "response_format" not in chat(request(text={"format": {"type": "text"}}))


def test_streams_ask_for_usage() -> None:
    translation = translate(request(stream=True), model())
    assert translation.chat.body["stream"] is True
    assert translation.chat.body["stream_options"] == {"include_usage": True}
    assert translation.chat.stream and translation.chat.include_usage
    whole = translate(request(), model()).chat
    assert not ({"stream", "stream_options"} & whole.body.keys()) and not whole.stream


def test_the_chat_request_is_one_the_chat_surface_accepts() -> None:
    found = request(
        input=[message("user", text("see"), {"type": "input_image", "image_url": IMAGE})],
        tools=[{"type": "custom", "name": "apply_patch"}],
    )
    translation = translate(found, model())
    assert translation.chat.model == "acme/m"
    assert translation.chat.modalities == {"image": "input[0].content[1]"}
    assert translation.chat.uses_tools
    again = parse_chat_request(orjson.dumps(translation.chat.body))
    assert again.body == translation.chat.body
