"""The Bedrock provider's event-stream reader against raw frames (written by the fake
Bedrock's encoder, which botocore's own parser reads back)."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import pytest

from quantized.errors import BadGatewayError
from quantized.gateway.providers.bedrock_request import JSON_TOOL
from quantized.gateway.providers.bedrock_stream import BedrockStream
from quantized.gateway.streams import DONE, MAX_EVENT_BYTES, Usage
from tests.utils.aws import event, frame, read_frames
from tests.utils.bedrock_upstream import converse_frames

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}}


def frames(name: str, **fields: Any) -> bytes:
    return b"".join(
        converse_frames(
            name, {"messages": [{"role": "user", "content": [{"text": "hi there"}]}], **fields}
        )
    )


def chunks_of(events: list[bytes]) -> list[dict[str, Any]]:
    assert events[-1] == DONE
    return [orjson.loads(e.removeprefix(b"data: ")) for e in events[:-1]]


def test_the_fake_writes_frames_botocore_reads() -> None:
    read = read_frames(frames("usage-100-300-200-50"))
    kinds = [headers[":event-type"] for headers, _ in read]
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert read[1][1]["delta"] == {"text": "echo:"}
    assert read[-1][1]["usage"]["cacheWriteInputTokens"] == 200


def test_a_stream_fed_byte_by_byte_becomes_chunks_with_usage() -> None:
    translator = BedrockStream("alias", include_usage=True, json_mode=False)
    events = [e for byte in frames("usage-100-300-200-50") for e in translator.feed(bytes([byte]))]
    chunks = chunks_of(events + translator.finish())
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "echo:"},
        {"content": " hi"},
        {"content": " there"},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 600
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and chunks[0]["model"] == "alias"
    assert translator.usage == Usage(
        prompt_tokens=600, cached_tokens=300, completion_tokens=50, cache_write_tokens=200
    )
    assert translator.chunks == 3


def test_a_streamed_tool_call_and_reasoning() -> None:
    tools = {"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": SCHEMA}}}]}
    translator = BedrockStream("alias", include_usage=False, json_mode=False)
    chunks = chunks_of(translator.feed(frames("think", toolConfig=tools)) + translator.finish())
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[1] == {"reasoning_content": "Let me think."}
    assert deltas[2] == {
        "tool_calls": [
            {
                "index": 0,
                "id": "tooluse_1",
                "type": "function",
                "function": {"name": "weather", "arguments": ""},
            }
        ]
    }
    arguments = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[3:5])
    assert orjson.loads(arguments) == {"ok": True}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all("usage" not in c for c in chunks)


def test_a_streamed_json_answer_is_content() -> None:
    tools = {"tools": [{"toolSpec": {"name": JSON_TOOL, "inputSchema": {"json": SCHEMA}}}]}
    translator = BedrockStream("alias", include_usage=False, json_mode=True)
    chunks = chunks_of(translator.feed(frames("echo", toolConfig=tools)) + translator.finish())
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert orjson.loads(content) == {"ok": True}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_an_exception_frame_ends_the_stream_with_its_error() -> None:
    translator = BedrockStream("alias", include_usage=False, json_mode=False)
    with pytest.raises(
        BadGatewayError, match=r"\(throttlingException\): Too many tokens, slow down\."
    ):
        translator.feed(frames("throttled"))


def test_an_error_frame_names_its_code() -> None:
    error = frame(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    )
    with pytest.raises(BadGatewayError, match=r"\(InternalFailure\): boom"):
        BedrockStream("m", False, False).feed(error)


@pytest.mark.parametrize(
    "data",
    [
        frames("corrupt"),  # a message CRC that differs
        b"<html>not an event stream</html>",  # a prelude CRC that differs, seen at once
        frame({":message-type": "event"}, b"x")[:8] + b"\x00\x00\x00\x00",
    ],
)
def test_corrupt_frames_are_an_invalid_answer(data: bytes) -> None:
    with pytest.raises(BadGatewayError) as caught:
        BedrockStream("m", False, False).feed(data)
    assert caught.value.code == "upstream_invalid_response"


def test_a_frame_longer_than_the_limit_is_refused_from_its_prelude() -> None:
    prelude = (MAX_EVENT_BYTES + 1).to_bytes(4, "big") + (0).to_bytes(4, "big")
    with pytest.raises(BadGatewayError, match="length"):
        BedrockStream("m", False, False).feed(prelude + zlib.crc32(prelude).to_bytes(4, "big"))


def test_a_stream_cut_short_is_an_error() -> None:
    cut = BedrockStream("m", False, False)
    cut.feed(frames("echo")[:-5])
    with pytest.raises(BadGatewayError, match="inside a frame"):
        cut.finish()
    unfinished = BedrockStream("m", False, False)
    unfinished.feed(frames("unfinished"))
    with pytest.raises(BadGatewayError, match="ended before its answer"):
        unfinished.finish()


def test_unknown_events_and_signature_deltas_are_skipped() -> None:
    translator = BedrockStream("m", False, False)
    signature = {"reasoningContent": {"signature": "c2ln"}}
    data = event("somethingNew", x=1) + event(
        "contentBlockDelta", contentBlockIndex=0, delta=signature
    )
    assert translator.feed(data) == [] and translator.chunks == 0
