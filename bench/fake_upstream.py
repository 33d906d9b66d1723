"""An OpenAI-compatible upstream that answers instantly (for bench/chat.py).

A plain ASGI app, run with uvicorn (httptools, uvloop):

    python -m uvicorn fake_upstream:app --app-dir bench --port 18501 --no-access-log
"""

from __future__ import annotations

import json
import os
import signal
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
JSON = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(COMPLETION))]
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
    if b'"stream":true' in body or b'"stream": true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": SSE})
        await send({"type": "http.response.body", "body": STREAM})
        return
    await send({"type": "http.response.start", "status": 200, "headers": JSON})
    await send({"type": "http.response.body", "body": COMPLETION})


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


def write_catalog(path: Path, port: int) -> Path:
    """A one-model catalog whose upstream is this app on ``port``."""
    upstream = {
        "provider": "openai",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "model": "bench",
        "api_key_env": "BENCH_UPSTREAM_KEY",
    }
    model = {
        "id": "bench/model",
        "name": "Bench",
        "cost": {"prompt": 1, "completion": 2},
        "upstreams": [upstream],
    }
    path.write_text(json.dumps({"models": [model]}))
    return path
