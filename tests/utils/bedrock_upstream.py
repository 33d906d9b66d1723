"""A fake AWS Bedrock runtime: a real HTTP server speaking Converse and ConverseStream.

It serves ``POST /model/{modelId}/converse`` (a JSON answer) and
``…/converse-stream`` (event-stream frames, chunked). Like Bedrock, it refuses with
a 403 a request whose SigV4 signature (recomputed with botocore from what it
received, see ``tests.utils.aws``) does not match one of its ``keys``, or whose
bearer token is not its ``api_key``, and with a 400 ``ValidationException`` a body
of the wrong shape (``converse_problem``).

The model id, without its vendor prefix and version (``anthropic.echo-v1:0`` →
``echo``), chooses the behaviour:

- ``echo``: answers ``echo: <last user text>`` (10 input, 5 output tokens); with tools,
  calls the tool ``toolChoice`` names, else the first, with input ``{"ok": true}``
  (unless the last user turn holds a tool result: then ``tool said: <its text>``);
- ``usage-I-R-W-O``: like echo, with I input tokens, R read from the prompt cache,
  W written to it, O output tokens;
- ``think``: like echo, with reasoning (``reasoningContent``, signed) first;
- ``throttled``: streams a first text delta, then a ``throttlingException`` frame;
- ``corrupt``: streams a frame whose message CRC is wrong;
- ``unfinished``: streams text, then ends without ``messageStop``;
- ``fail-400`` / ``fail-429`` / ``fail-500``: Bedrock's error for that status;
- ``garbage``: answers 200 with a body that is not JSON.

Every request is kept (raw path, headers, body, the signature check) for assertions.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.utils.aws import Keys, Signed, check_signature, event, exception
from tests.utils.bedrock_shape import converse_problem
from tests.utils.processes import free_port

REGION = "us-west-2"
REASONING = "Let me think."
ERRORS = {
    400: ("ValidationException", "The model returned the following errors: bad input"),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The system encountered an unexpected error."),
}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    signed: Signed | None = None


def behaviour(model_id: str) -> str:
    return model_id.partition(".")[2].rpartition(":")[0].removesuffix("-v1")


def _usage(name: str) -> dict[str, int]:
    """Bedrock's usage: ``inputTokens`` leave out the cache's tokens, reported (when there
    are some) beside them."""
    parts = name.split("-")
    prompt, read, written, output = (
        (int(p) for p in parts[1:]) if parts[0] == "usage" else (10, 0, 0, 5)
    )
    usage = {
        "inputTokens": prompt,
        "outputTokens": output,
        "totalTokens": prompt + read + written + output,
    }
    if read or written:
        usage |= {"cacheReadInputTokens": read, "cacheWriteInputTokens": written}
    return usage


def _last_user(body: dict[str, Any]) -> list[dict[str, Any]]:
    users = [m for m in body["messages"] if m["role"] == "user"]
    return users[-1]["content"] if users else []


def answer_blocks(name: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The answer's content blocks and stop reason."""
    last = _last_user(body)
    results = [b["toolResult"] for b in last if "toolResult" in b]
    tools = [
        t["toolSpec"] for t in (body.get("toolConfig") or {}).get("tools", []) if "toolSpec" in t
    ]
    blocks: list[dict[str, Any]] = []
    if name == "think":
        blocks.append(
            {"reasoningContent": {"reasoningText": {"text": REASONING, "signature": "c2ln"}}}
        )
    if tools and not results:
        chosen = (body["toolConfig"].get("toolChoice") or {}).get("tool", {}).get("name")
        use = {"toolUseId": "tooluse_1", "name": chosen or tools[0]["name"], "input": {"ok": True}}
        return [*blocks, {"toolUse": use}], "tool_use"
    if results:
        said = " ".join(c.get("text", "") for r in results for c in r["content"])
        return [*blocks, {"text": f"tool said: {said}"}], "end_turn"
    text = " ".join(b["text"] for b in last if "text" in b)
    return [*blocks, {"text": f"echo: {text}"}], "end_turn"


def converse_answer(name: str, body: dict[str, Any]) -> dict[str, Any]:
    blocks, stop = answer_blocks(name, body)
    return {
        "output": {"message": {"role": "assistant", "content": blocks}},
        "stopReason": stop,
        "usage": _usage(name),
        "metrics": {"latencyMs": 42},
    }


def converse_frames(name: str, body: dict[str, Any]) -> list[bytes]:
    """The stream's frames for a behaviour."""
    blocks, stop = answer_blocks(name, body)
    out = [event("messageStart", role="assistant")]
    for index, block in enumerate(blocks):
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            out.append(event("contentBlockStart", contentBlockIndex=index, start=start))
            text = json.dumps(use["input"])
            for piece in (text[:4], text[4:]):
                delta = {"toolUse": {"input": piece}}
                out.append(event("contentBlockDelta", contentBlockIndex=index, delta=delta))
        elif "reasoningContent" in block:
            for delta in ({"text": REASONING}, {"signature": "c2ln"}):
                out.append(
                    event(
                        "contentBlockDelta",
                        contentBlockIndex=index,
                        delta={"reasoningContent": delta},
                    )
                )
        else:
            words = block["text"].split(" ")
            for number, word in enumerate(words):
                piece = word if number == 0 else " " + word
                out.append(
                    event("contentBlockDelta", contentBlockIndex=index, delta={"text": piece})
                )
                if name == "throttled":
                    return [*out, exception("throttlingException", "Too many tokens, slow down.")]
                if name == "corrupt":
                    broken = bytearray(out.pop())
                    broken[-1] ^= 0xFF
                    return [*out, bytes(broken)]
        out.append(event("contentBlockStop", contentBlockIndex=index))
    if name == "unfinished":
        return out
    out.append(event("messageStop", stopReason=stop))
    metadata = {"usage": _usage(name), "metrics": {"latencyMs": 42}}
    return [*out, event("metadata", **metadata)]


@dataclass
class FakeBedrock:
    keys: dict[str, Keys] = field(default_factory=dict)
    api_key: str = "bedrock-api-key-0123456789abcdef"
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeBedrock:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                segments = self.path.split("/")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                seen = Seen(self.path, headers, body)
                fake.seen.append(seen)
                if len(segments) != 4 or segments[1] != "model":
                    self._error(404, "UnknownOperationException", "Unknown operation")
                    return
                refused = fake.authenticate(seen, raw)
                if refused is not None:
                    self._error(403, "InvalidSignatureException", refused)
                    return
                name, action = behaviour(unquote(segments[2])), segments[3]
                problem = converse_problem(body)
                if problem is not None:
                    self._error(400, "ValidationException", problem)
                elif name.startswith("fail-"):
                    self._error(int(name[5:]), *ERRORS[int(name[5:])])
                elif name == "garbage":
                    self._send(200, "application/json", b"<html>oops")
                elif action == "converse-stream":
                    self._stream(converse_frames(name, body))
                else:
                    self._send(
                        200, "application/json", json.dumps(converse_answer(name, body)).encode()
                    )

            def _error(self, status: int, kind: str, message: str) -> None:
                data = json.dumps({"message": message}).encode()
                self._send(status, "application/json", data, [("x-amzn-errortype", f"{kind}:")])

            def _send(self, status: int, kind: str, data: bytes, extra: Any = ()) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.send_header("x-amzn-requestid", "3f1e2a7c-0000-4000-8000-000000000000")
                for name, value in extra:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, frames: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/vnd.amazon.eventstream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for data in frames:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def authenticate(self, seen: Seen, raw: bytes) -> str | None:
        """Why the request is refused (``None``: it is not)."""
        authorization = seen.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            ok = authorization[7:] == self.api_key
            return None if ok else "Authentication failed: the API key is invalid."
        checked = check_signature(self.keys, REGION, seen.path, seen.headers, raw)
        if isinstance(checked, str):
            return checked
        seen.signed = checked
        return None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
