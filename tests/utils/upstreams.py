"""Fake LLM providers for tests: real HTTP servers speaking OpenAI's and Anthropic's protocols.

The upstream model name chooses the behaviour, so a test catalog decides what
each upstream does:

- ``echo``: answers ``echo: <last user text>``; with tools, calls the first tool;
  with a json_schema response format, answers ``{"ok": true}``;
- ``usage-P-C-O``: like echo, reporting P prompt tokens (C of them cached) and O
  completion tokens; ``usage-P-C-O-W``: W of the prompt tokens written to a cache too
  (OpenAI protocol: OpenRouter's ``prompt_tokens_details.cache_write_tokens``);
- ``fail-500`` / ``fail-429`` / ``fail-400`` / ``fail-401``: answer that status (a 429
  with ``Retry-After: 7``);
- ``slow-S``: wait S seconds first; ``drop``: close the connection without answering;
- ``chunks-N``: stream N content chunks (slowly: 50 ms apart);
- ``break-N``: stream N chunks, then close the connection mid-stream;
- ``garbage``: answer 200 with a body that is not JSON; ``truncated``: 200 with a
  Content-Length longer than the body, then close;
- ``noisy-P-C-O``: like ``usage-P-C-O``, but OpenAI streams carry the usage on every
  chunk (as some servers do), whatever the client asked;
- ``late-P-C-W-O`` (Anthropic): ``message_start`` reports no input tokens; the final
  ``message_delta``'s cumulative usage brings P input, C cache-read, W cache-write and O
  output tokens;
- ``overloaded`` (Anthropic streams): ``message_start``, then an ``overloaded_error`` event;
- ``think``: like echo, with reasoning first: an Anthropic ``thinking`` block signed
  ``SIGNATURE`` (streamed as ``thinking_delta`` then ``signature_delta``), or OpenAI's
  ``reasoning_content``.

``POST …/embeddings`` gets OpenAI's embeddings answer (see ``upstream_embeddings``);
the behaviours above that fail, wait or break apply to it too.

Like Anthropic's API, the Anthropic side refuses (400) a request that sends back a
``thinking`` block whose signature it did not make, and answers
``POST /v1/messages/count_tokens`` with a count of its own (``COUNTED``).

Every request is kept (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.utils.processes import free_port
from tests.utils.upstream_embeddings import embeddings_answer
from tests.utils.upstream_responses import response_events, response_object

COUNTED = 4242
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDKbAoDj8Bu2N8zwMiMLeSZaA"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    client_port: int = 0


@dataclass
class Behaviour:
    name: str
    prompt: int = 10
    cached: int = 0
    completion: int = 5
    arg: float = 0.0
    written: int = 0

    @classmethod
    def parse(cls, model: str) -> Behaviour:
        parts = model.split("-")
        if parts[0] in ("usage", "noisy") and len(parts) in (4, 5):
            name = "echo" if parts[0] == "usage" else "noisy"
            written = int(parts[4]) if len(parts) == 5 else 0
            return cls(name, int(parts[1]), int(parts[2]), int(parts[3]), written=written)
        if parts[0] == "late" and len(parts) == 5:
            prompt, cached, written, completion = (int(p) for p in parts[1:])
            return cls("late", prompt, cached, completion, written=written)
        if len(parts) == 2 and parts[0] in ("fail", "slow", "chunks", "break"):
            return cls(parts[0], arg=float(parts[1]))
        return cls(parts[0])


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(
                p.get("text", "")
                for p in content or []
                if isinstance(p, dict) and p.get("type") == "text"
            )
    return ""


@dataclass
class FakeUpstream:
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    aborted: int = 0
    """Streams the gateway hung up on before they ended."""
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeUpstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                upstream.seen.append(
                    Seen(self.path, dict(self.headers.items()), body, self.client_address[1])
                )
                behaviour = Behaviour.parse(str(body.get("model", "")))
                path = self.path.partition("?")[0]
                if path.endswith("/v1/messages/count_tokens"):
                    self._json(200, {"input_tokens": COUNTED})
                    return
                anthropic = path.endswith("/v1/messages")
                responses = path.endswith("/responses")
                if anthropic and not _signatures_valid(body):
                    error = {"type": "invalid_request_error", "message": "Invalid `signature`"}
                    self._json(400, {"type": "error", "error": error})
                    return
                if behaviour.name == "slow":
                    time.sleep(behaviour.arg)
                if behaviour.name == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if behaviour.name in ("garbage", "truncated"):
                    self._broken(behaviour.name)
                    return
                if behaviour.name == "fail":
                    status = int(behaviour.arg)
                    message = {
                        500: "internal failure",
                        429: "slow down",
                        400: "bad parameter x",
                        401: "Incorrect API key provided: " + self.headers.get("authorization", ""),
                    }[status]
                    error: dict[str, Any] = (
                        {"type": "error", "error": {"type": "api_error", "message": message}}
                        if anthropic
                        else {
                            "error": {
                                "message": message,
                                "type": "x",
                                "param": "x",
                                "code": "bad_x",
                            }
                        }
                    )
                    self._json(status, error)
                    return
                if responses and body.get("stream"):
                    self._events(response_events(body, behaviour), behaviour)
                elif responses:
                    self._json(200, response_object(body, behaviour))
                elif path.endswith("/embeddings"):
                    self._json(200, embeddings_answer(body, str(body.get("model"))))
                elif body.get("stream"):
                    self._stream(body, behaviour, anthropic)
                elif anthropic:
                    self._json(200, _anthropic_message(body, behaviour))
                else:
                    self._json(200, _openai_completion(body, behaviour))

            def _broken(self, how: str) -> None:
                data = b"<html>Bad gateway</html>" if how == "garbage" else b'{"id": "chatcmpl-'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header(
                    "content-length", str(len(data) + (500 if how != "garbage" else 0))
                )
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("retry-after", "7")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], behaviour: Behaviour, anthropic: bool) -> None:
                events = (_anthropic_events if anthropic else _openai_events)(body, behaviour)
                if behaviour.name == "overloaded":
                    error = {"type": "overloaded_error", "message": "Overloaded"}
                    events = [*events[:2], _sse("error", {"error": error})]
                self._events(events, behaviour)

            def _events(self, events: list[str], behaviour: Behaviour) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                try:
                    for index, event in enumerate(events):
                        if behaviour.name == "break" and index >= behaviour.arg + 1:
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        data = event.encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                        if behaviour.name in ("chunks", "break"):
                            time.sleep(0.05)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    upstream.aborted += 1
                    self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _answer(body: dict[str, Any]) -> str:
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return '{"ok": true}'
    images = sum(
        1
        for m in body.get("messages", [])
        for p in (m.get("content") if isinstance(m.get("content"), list) else [])
        if isinstance(p, dict) and p.get("type") in ("image_url", "image")
    )
    text = f"echo: {_last_user_text(body.get('messages', []))}"
    return f"{text} (saw {images} images)" if images else text


def _signatures_valid(body: dict[str, Any]) -> bool:
    return all(
        block.get("signature") == SIGNATURE
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "thinking"
    )


def _arguments(schema: Any) -> dict[str, Any]:
    """A tool call's arguments: ``{"city": "Paris"}``, or for a tool taking one string
    ``input`` (how a custom tool is translated) a patch."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and list(properties) == ["input"]:
        return {"input": "*** Begin Patch\n*** End Patch"}
    return {"city": "Paris"}


def _openai_completion(body: dict[str, Any], b: Behaviour) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": _answer(body)}
    if b.name == "think":
        message["reasoning_content"] = "Let me think."
    finish = "stop"
    last = (body.get("messages") or [{}])[-1]
    if last.get("role") == "tool":
        message["content"] = f"the tool said: {last.get('content')}"
    elif body.get("tools"):
        function = body["tools"][0]["function"]
        name = function["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": json.dumps(_arguments(function.get("parameters"))),
                    },
                }
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": b.prompt,
            "completion_tokens": b.completion,
            "total_tokens": b.prompt + b.completion,
            "prompt_tokens_details": _details(b),
        },
    }


def _details(b: Behaviour) -> dict[str, int]:
    details = {"cached_tokens": b.cached}
    if b.written:
        details["cache_write_tokens"] = b.written
    return details


def _chunk(
    body: dict[str, Any], delta: dict[str, Any], finish: str | None = None, usage: Any = None
) -> str:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": body.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        "usage": usage,
    }
    return f"data: {json.dumps(payload)}\n\n"


def _openai_events(body: dict[str, Any], b: Behaviour) -> list[str]:
    words = (
        [f"w{i} " for i in range(int(b.arg))]
        if b.name in ("chunks", "break")
        else (_answer(body).split(" "))
    )
    noisy = b.name == "noisy"
    usage_now = (
        {
            "prompt_tokens": b.prompt,
            "completion_tokens": b.completion,
            "total_tokens": b.prompt + b.completion,
            "prompt_tokens_details": _details(b),
        }
        if noisy
        else None
    )
    events = [_chunk(body, {"role": "assistant", "content": ""}, usage=usage_now)]
    if b.name == "think":
        events += [_chunk(body, {"reasoning_content": w}) for w in ("Let me ", "think.")]
    whole = _openai_completion(body, b)["choices"][0]["message"]
    finish = "stop"
    if whole.get("tool_calls"):
        call = whole["tool_calls"][0]
        start = {
            **call,
            "index": 0,
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(_chunk(body, {"tool_calls": [start]}))
        arguments = call["function"]["arguments"]
        for piece in (arguments[:5], arguments[5:]):
            events.append(
                _chunk(body, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            )
        finish = "tool_calls"
    else:
        words = words if b.name in ("chunks", "break") else whole["content"].split(" ")
        events += [
            _chunk(body, {"content": word + ("" if word.endswith(" ") else " ")}, usage=usage_now)
            for word in words
        ]
    events.append(_chunk(body, {}, finish, usage=usage_now))
    if noisy:
        events.append("data: [DONE]\n\n")
        return events
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {
            "prompt_tokens": b.prompt,
            "completion_tokens": b.completion,
            "total_tokens": b.prompt + b.completion,
            "prompt_tokens_details": _details(b),
        }
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": body.get("model"),
            "choices": [],
            "usage": usage,
        }
        events.append(f"data: {json.dumps(payload)}\n\n")
    events.append("data: [DONE]\n\n")
    return events


def _usage_block(b: Behaviour) -> dict[str, int]:
    return {
        "input_tokens": b.prompt - b.cached - b.written,
        "output_tokens": b.completion,
        "cache_read_input_tokens": b.cached,
        "cache_creation_input_tokens": b.written,
    }


def _anthropic_message(body: dict[str, Any], b: Behaviour) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": _answer_anthropic(body)}]
    stop = "end_turn"
    tools = body.get("tools") or []
    results = [
        block
        for block in body["messages"][-1]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    if results:
        said = results[0].get("content")
        said = said if isinstance(said, str) else json.dumps(said)
        error = " (an error)" if results[0].get("is_error") else ""
        content = [{"type": "text", "text": f"the tool said{error}: {said}"}]
    elif tools:
        tool = tools[0]
        forced = (body.get("tool_choice") or {}).get("name") == tool["name"]
        arguments = {"ok": True} if forced else _arguments(tool.get("input_schema"))
        content = [{"type": "tool_use", "id": "toolu_1", "name": tool["name"], "input": arguments}]
        stop = "tool_use"
    if b.name == "think":
        content.insert(0, {"type": "thinking", "thinking": "Let me think.", "signature": SIGNATURE})
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": stop,
        "usage": _usage_block(b),
    }


def _answer_anthropic(body: dict[str, Any]) -> str:
    last = body["messages"][-1]
    blocks = (
        last["content"]
        if isinstance(last["content"], list)
        else [{"type": "text", "text": last["content"]}]
    )
    text = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    images = sum(1 for b in blocks if b.get("type") == "image")
    system = body.get("system")
    answer = f"echo: {text}"
    if images:
        answer += f" (saw {images} images)"
    if system:
        answer += f" [system: {system}]"
    return answer


def _sse(kind: str, payload: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n"


def _anthropic_events(body: dict[str, Any], b: Behaviour) -> list[str]:
    message = _anthropic_message(body, b)
    events = [
        _sse(
            "message_start",
            {
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": [],
                    "stop_reason": None,
                    "usage": (
                        {"input_tokens": 0, "output_tokens": 1}
                        if b.name == "late"
                        else {**_usage_block(b), "output_tokens": 1}
                    ),
                }
            },
        )
    ]
    events.append(_sse("ping", {}))
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            events.append(_sse("content_block_start", {"index": index, "content_block": start}))
            for delta in (
                {"type": "thinking_delta", "thinking": "Let me "},
                {"type": "thinking_delta", "thinking": "think."},
                {"type": "signature_delta", "signature": SIGNATURE},
            ):
                events.append(_sse("content_block_delta", {"index": index, "delta": delta}))
        elif block["type"] == "text":
            events.append(
                _sse(
                    "content_block_start",
                    {"index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            words = (
                [f"w{i} " for i in range(int(b.arg))]
                if b.name in ("chunks", "break")
                else [w + " " for w in block["text"].split(" ")]
            )
            for word in words:
                events.append(
                    _sse(
                        "content_block_delta",
                        {"index": index, "delta": {"type": "text_delta", "text": word}},
                    )
                )
        else:
            events.append(
                _sse(
                    "content_block_start",
                    {
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": block["id"],
                            "name": block["name"],
                            "input": {},
                        },
                    },
                )
            )
            text = json.dumps(block["input"])
            for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                events.append(
                    _sse(
                        "content_block_delta",
                        {
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
        events.append(_sse("content_block_stop", {"index": index}))
    events.append(
        _sse(
            "message_delta",
            {
                "delta": {"stop_reason": message["stop_reason"]},
                "usage": _usage_block(b) if b.name == "late" else {"output_tokens": b.completion},
            },
        )
    )
    events.append(_sse("message_stop", {}))
    return events
