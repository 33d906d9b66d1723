"""An upstream that answers instantly (for bench/chat.py, bench/messages.py and others).

``POST /v1/messages`` gets a fixed Anthropic ``message`` (or event stream),
``POST /v1/responses`` a fixed Responses API ``response`` (or its event stream,
each event named in an ``event:`` line and numbered; unlike OpenAI's, the response
does not echo the request's tools), ``POST /v1/embeddings`` a fixed embeddings
answer (one 1,536-value vector, as text-embedding-3-small gives: base64, or
floats for a body asking for them), ``POST /v1/traces`` an empty OTLP/HTTP
answer (a trace sink for bench/chat.py --observability), any other path a fixed
OpenAI chat completion (or chunk stream); a body holding ``"stream":true`` gets
the stream.
A plain ASGI app, run with uvicorn (httptools, uvloop):

    python -m uvicorn fake_upstream:app --app-dir bench --port 18501 --no-access-log
"""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COMPLETION = (
    b'{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,'
    b'"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":'
    b'"Hello! How can I help you today?"},"finish_reason":"stop","logprobs":null}],'
    b'"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,'
    b'"prompt_tokens_details":{"cached_tokens":0}}}'
)
_CHUNK = (
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"bench","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n'
)
STREAM = (
    b"".join(_CHUNK % word for word in (b"Hello", b"!", b" How", b" can", b" I", b" help?"))
    + b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    + b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,'
    b'"total_tokens":18}}\n\ndata: [DONE]\n\n'
)
MESSAGE = (
    b'{"id":"msg_bench","type":"message","role":"assistant","model":"bench-claude",'
    b'"content":[{"type":"text","text":"Hello! How can I help you today?"}],'
    b'"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,'
    b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}'
)


def _event(name: bytes, data: bytes = b"") -> bytes:
    fields = b"," + data if data else b""
    return b'event: %s\ndata: {"type":"%s"%s}\n\n' % (name, name, fields)


_DELTA = b'"index":0,"delta":{"type":"text_delta","text":"%s"}'
MESSAGE_STREAM = (
    _event(
        b"message_start",
        b'"message":{"id":"msg_bench","type":"message","role":"assistant","model":"bench-claude",'
        b'"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,'
        b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}',
    )
    + _event(b"ping")
    + _event(b"content_block_start", b'"index":0,"content_block":{"type":"text","text":""}')
    + b"".join(
        _event(b"content_block_delta", _DELTA % word)
        for word in (b"Hello", b"!", b" How", b" can", b" I", b" help?")
    )
    + _event(b"content_block_stop", b'"index":0')
    + _event(
        b"message_delta",
        b'"delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}',
    )
    + _event(b"message_stop")
)
_RESPONSE_TEXT = ("Hello", "!", " How", " can", " I", " help?")
_RESPONSE_ITEM = {
    "id": "msg_bench",
    "type": "message",
    "status": "completed",
    "content": [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(_RESPONSE_TEXT)}
    ],
    "role": "assistant",
}
_RESPONSE: dict[str, Any] = {
    "id": "resp_bench",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "background": False,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "model": "bench-native",
    "output": [_RESPONSE_ITEM],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "reasoning": {"effort": None, "summary": None},
    "safety_identifier": None,
    "service_tier": "default",
    "store": False,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [],
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 21,
    },
    "user": None,
    "metadata": {},
}


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _response_stream() -> bytes:
    started = {**_RESPONSE, "status": "in_progress", "output": [], "usage": None}
    at = {"item_id": "msg_bench", "output_index": 0}
    part = {**at, "content_index": 0}
    text = _RESPONSE_ITEM["content"][0]
    empty = {**text, "text": ""}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**_RESPONSE_ITEM, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **part, "part": empty},
        *(
            {"type": "response.output_text.delta", **part, "delta": word, "logprobs": []}
            for word in _RESPONSE_TEXT
        ),
        {"type": "response.output_text.done", **part, "text": text["text"], "logprobs": []},
        {"type": "response.content_part.done", **part, "part": text},
        {"type": "response.output_item.done", "output_index": 0, "item": _RESPONSE_ITEM},
        {"type": "response.completed", "response": _RESPONSE},
    ]
    return b"".join(
        b"event: %s\ndata: %s\n\n"
        % (event["type"].encode(), _json({**event, "sequence_number": number}))
        for number, event in enumerate(events)
    )


RESPONSE = _json(_RESPONSE)
RESPONSE_STREAM = _response_stream()
_VECTOR = struct.pack("<1536f", *(math.sin(i) / 20 for i in range(1536)))


def _embeddings(vector: bytes) -> bytes:
    return (
        b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":%s}],'
        b'"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}' % vector
    )


EMBEDDINGS_BASE64 = _embeddings(b'"%s"' % base64.b64encode(_VECTOR))
EMBEDDINGS_FLOAT = _embeddings(
    json.dumps(list(struct.unpack("<1536f", _VECTOR)), separators=(",", ":")).encode()
)
"""About 8 KB and 32 KB."""


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]


JSON, MESSAGE_JSON, RESPONSE_JSON = map(_json_headers, (COMPLETION, MESSAGE, RESPONSE))
SSE = [(b"content-type", b"text/event-stream")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"].endswith("/embeddings"):
        answer = EMBEDDINGS_FLOAT if b'"float"' in body else EMBEDDINGS_BASE64
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        return
    path = scope["path"]
    if path == "/v1/traces":  # ExportTraceServiceResponse, empty
        otlp = [(b"content-type", b"application/x-protobuf"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": otlp})
        await send({"type": "http.response.body", "body": b""})
        return
    if path.endswith("/messages"):
        whole, headers, stream = MESSAGE, MESSAGE_JSON, MESSAGE_STREAM
    elif path.endswith("/responses"):
        whole, headers, stream = RESPONSE, RESPONSE_JSON, RESPONSE_STREAM
    else:
        whole, headers, stream = COMPLETION, JSON, STREAM
    if b'"stream":true' in body or b'"stream": true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": SSE})
        await send({"type": "http.response.body", "body": stream})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": whole})


def start(port: int, core: str = "0") -> subprocess.Popen[bytes]:
    """This app under uvicorn (httptools, uvloop), pinned to ``core``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTIZED_")}
    command = ["taskset", "-c", core, sys.executable, "-m", "uvicorn", "fake_upstream:app"]
    command += ["--app-dir", str(Path(__file__).resolve().parent), "--port", str(port)]
    command += ["--no-access-log", "--http", "httptools", "--loop", "uvloop"]
    return subprocess.Popen([*command, "--log-level", "warning"], env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(10)


def write_catalog(
    path: Path,
    port: int,
    *,
    anthropic: bool = False,
    responses: bool = False,
    embeddings: bool = False,
    scheduled: bool = False,
) -> Path:
    """A catalog whose upstream is this app on ``port``: ``bench/model`` (OpenAI-compatible,
    chat completions only); with ``anthropic`` also ``bench/claude`` (an Anthropic upstream:
    no ``/v1`` in its URL), with ``responses`` also ``bench/native`` (an OpenAI-compatible
    upstream serving the Responses API itself, so ``/v1/responses`` requests are passed
    through to it), each with tool calls (a Claude Code or Codex request offers tools); with
    ``embeddings`` also ``bench/embed``, an embedding model; with ``scheduled`` each model
    has a price change scheduled a year ahead (which no request should pay for)."""
    openai = _model("bench/model", "openai", f"http://127.0.0.1:{port}/v1", "bench")
    models = [openai]
    if anthropic:
        models.append(
            _model("bench/claude", "anthropic", f"http://127.0.0.1:{port}", "bench-claude")
        )
    if responses:
        native = _model("bench/native", "openai", f"http://127.0.0.1:{port}/v1", "bench-native")
        native["upstreams"][0]["responses"] = True
        models.append(native)
    if anthropic or responses:
        models = [{**m, "supported_features": ["tool_calls"]} for m in models]
    if embeddings:
        embed = _model("bench/embed", "openai", f"http://127.0.0.1:{port}/v1", "bench-embed")
        models.append({**embed, "endpoints": ["embeddings"]})
    if scheduled:
        later = int(time.time()) + 365 * 86_400
        change = {"effective_from": later, "prompt": 2, "completion": 8}
        models = [{**m, "scheduled_prices": [change]} for m in models]
    path.write_text(json.dumps({"models": models}))
    return path


def _model(model_id: str, provider: str, base_url: str, name: str) -> dict[str, Any]:
    upstream = {
        "provider": provider,
        "base_url": base_url,
        "model": name,
        "api_key_env": "BENCH_UPSTREAM_KEY",
    }
    return {
        "id": model_id,
        "name": name.title(),
        "cost": {"prompt": 1, "completion": 2},
        "upstreams": [upstream],
    }
