from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.errors import InvalidRequestError
from quantized.gateway.surfaces.chat import parse_chat_request

USER = {"role": "user", "content": "hi"}


def body(**fields: Any) -> bytes:
    return orjson.dumps({"model": "m", "messages": [USER], **fields})


def rejected(data: bytes) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        parse_chat_request(data)
    return info.value


def test_a_minimal_request() -> None:
    request = parse_chat_request(body())
    assert request.model == "m"
    assert request.stream is False
    assert request.include_usage is False
    assert request.modalities == {}
    assert request.messages == [USER]
    assert not request.uses_tools
    assert not request.wants_json_schema


def test_every_role_and_content_shape_is_accepted() -> None:
    messages = [
        {"role": "system", "content": "s"},
        {"role": "developer", "content": [{"type": "text", "text": "d"}]},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "content": "r", "tool_call_id": "c"},
        {"role": "function", "name": "f", "content": "r"},
        {"role": "assistant"},
    ]
    request = parse_chat_request(orjson.dumps({"model": "m", "messages": messages}))
    assert request.messages == messages


def test_unknown_fields_are_kept_in_the_body() -> None:
    request = parse_chat_request(body(seed=7, logit_bias={"1": 2}, vendor_x={"a": [1]}))
    assert request.body["seed"] == 7
    assert request.body["logit_bias"] == {"1": 2}
    assert request.body["vendor_x"] == {"a": [1]}


def test_optional_fields_may_be_null() -> None:
    request = parse_chat_request(
        body(tools=None, response_format=None, stream_options=None, max_tokens=None, n=None)
    )
    assert request.stream is False


def test_tools_and_json_schema_are_noticed() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    request = parse_chat_request(
        body(tools=tools, response_format={"type": "json_schema", "json_schema": {}})
    )
    assert request.uses_tools
    assert request.wants_json_schema
    assert not parse_chat_request(body(response_format={"type": "json_object"})).wants_json_schema


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": None}, "model"),
        ({"model": ""}, "model"),
        ({"model": 5}, "model"),
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": {"role": "user"}}, "messages"),
        ({"messages": [USER, "hi"]}, "messages[1]"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"content": "x"}]}, "messages[0].role"),
        ({"messages": [USER, {"role": "user", "content": 5}]}, "messages[1].content"),
        ({"messages": [{"role": "user", "content": {"type": "text"}}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}, {"text": "x"}]}]},
            "messages[0].content[1]",
        ),
        ({"messages": [{"role": "user", "content": ["x"]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": 1}]}]}, "messages[0].content[0]"),
        ({"stream": "true"}, "stream"),
        ({"stream": 1}, "stream"),
        ({"tools": {"type": "function"}}, "tools"),
        ({"response_format": "json_object"}, "response_format"),
        ({"stream_options": True}, "stream_options"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"n": False}, "n"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(fields: dict[str, Any], param: str) -> None:
    error = rejected(orjson.dumps({"model": "m", "messages": [USER], **fields}))
    assert error.param == param
    assert error.code == "invalid_request"


def test_missing_model_and_messages() -> None:
    assert rejected(orjson.dumps({"messages": [USER]})).param == "model"
    assert rejected(orjson.dumps({"model": "m"})).param == "messages"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"{'model': 'm'}",
        b'{"model": "m",}',
        b"[]",
        b'[{"model": "m"}]',
        b'"text"',
        b"null",
    ],
)
def test_a_body_that_is_not_a_json_object_is_invalid_json(data: bytes) -> None:
    error = rejected(data)
    assert error.code == "invalid_json"
    assert error.param is None


def test_positive_limits_are_accepted() -> None:
    request = parse_chat_request(body(max_tokens=1, max_completion_tokens=100, n=2))
    assert request.body["max_tokens"] == 1


@pytest.mark.parametrize(
    ("stream", "options", "include_usage"),
    [
        (True, {"include_usage": True}, True),
        (True, {"include_usage": False}, False),
        (True, {"include_usage": "true"}, False),
        (True, {}, False),
        (True, None, False),
        (False, {"include_usage": True}, False),
    ],
)
def test_include_usage_needs_a_stream_that_asks_for_it(
    stream: bool, options: dict[str, Any] | None, include_usage: bool
) -> None:
    request = parse_chat_request(body(stream=stream, stream_options=options))
    assert request.stream is stream
    assert request.include_usage is include_usage


def test_modalities_name_their_first_use() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://x/a.png"}}
    audio = {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [audio, {"type": "text", "text": "t"}]},
        {"role": "user", "content": [{"type": "text", "text": "t"}, image, audio]},
        {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "v"}}]},
        {"role": "user", "content": [{"type": "input_image", "image_url": "i"}]},
    ]
    request = parse_chat_request(orjson.dumps({"model": "m", "messages": messages}))
    assert request.modalities == {
        "audio": "messages[1].content[0]",
        "image": "messages[2].content[1]",
        "video": "messages[3].content[0]",
    }


def test_text_and_unknown_part_types_are_no_modality() -> None:
    content = [{"type": "text", "text": "t"}, {"type": "refusal", "refusal": "r"}]
    request = parse_chat_request(body(messages=[{"role": "user", "content": content}]))
    assert request.modalities == {}


def test_a_nul_character_is_relayed() -> None:
    """Model requests are never stored, so a NUL (which PostgreSQL cannot store) may pass."""
    data = b'{"model": "m", "messages": [{"role": "user", "content": "a\\u0000b"}]}'
    assert parse_chat_request(data).messages[0]["content"] == "a\x00b"


def test_the_text_backslash_u0000_is_not_a_nul_character() -> None:
    text = "printf '\\u0000'"  # a backslash, then u0000: no NUL in it
    request = parse_chat_request(body(messages=[{"role": "user", "content": text}]))
    assert request.messages[0]["content"] == text


def test_stream_may_be_null() -> None:
    request = parse_chat_request(body(stream=None))
    assert request.stream is False
    assert request.include_usage is False
