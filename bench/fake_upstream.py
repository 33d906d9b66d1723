"""An OpenAI-compatible upstream that answers instantly (for bench/chat.py).

A plain ASGI app, run with uvicorn (httptools, uvloop):

    python -m uvicorn fake_upstream:app --app-dir bench --port 18501 --no-access-log
"""

from __future__ import annotations

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
