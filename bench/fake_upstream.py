"""An upstream that answers instantly (for bench/chat.py, bench/messages.py and others).

``POST /v1/messages`` gets a fixed Anthropic ``message`` (or event stream),
``POST /v1/embeddings`` a fixed embeddings answer (one 1,536-value vector, as
text-embedding-3-small gives: base64, or floats for a body asking for them), any
other path a fixed OpenAI chat completion (or chunk stream); a body holding
``"stream":true`` gets the stream. A plain ASGI app, run with uvicorn
(httptools, uvloop):

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
JSON = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(COMPLETION))]
MESSAGE_JSON = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(MESSAGE))]
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
    anthropic = scope["path"].endswith("/messages")
    if b'"stream":true' in body or b'"stream": true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": SSE})
        await send({"type": "http.response.body", "body": MESSAGE_STREAM if anthropic else STREAM})
        return
    headers = MESSAGE_JSON if anthropic else JSON
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": MESSAGE if anthropic else COMPLETION})


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
    path: Path, port: int, *, anthropic: bool = False, embeddings: bool = False
) -> Path:
    """A catalog whose upstream is this app on ``port``: ``bench/model`` (OpenAI-compatible);
    with ``anthropic`` also ``bench/claude`` (an Anthropic upstream: no ``/v1`` in its URL),
    both with tool calls (a Claude Code request offers tools); with ``embeddings`` also
    ``bench/embed``, an embedding model."""
    openai = _model("bench/model", "openai", f"http://127.0.0.1:{port}/v1", "bench")
    models = [openai]
    if anthropic:
        claude = _model("bench/claude", "anthropic", f"http://127.0.0.1:{port}", "bench-claude")
        models = [{**m, "supported_features": ["tool_calls"]} for m in (openai, claude)]
    if embeddings:
        embed = _model("bench/embed", "openai", f"http://127.0.0.1:{port}/v1", "bench-embed")
        models.append({**embed, "endpoints": ["embeddings"]})
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
