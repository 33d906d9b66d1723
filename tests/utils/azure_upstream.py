"""A fake Azure OpenAI resource: a real HTTP server speaking Azure's protocol.

It serves ``POST /openai/deployments/{deployment}/chat/completions?api-version=V``
(and ``…/embeddings``) and the v1 API, ``POST /openai/v1/chat/completions`` with the
deployment as the body's ``model``. Like Azure, it answers 404 to a deployments
request without the ``api-version`` it expects, and 401 to a request with neither
its ``api-key`` nor a bearer token the fake token endpoint issued (``tokens``).

Answers are OpenAI's, annotated as Azure annotates them: ``prompt_filter_results``
on the completion (and, streamed, alone in a first chunk with no choices and an
empty id), ``content_filter_results`` on each choice. The deployment chooses the
behaviour:

- ``echo`` / ``usage-P-C-O``: answers ``echo: <last user text>``, reporting P prompt
  tokens (C of them cached: ``prompt_tokens_details.cached_tokens``) and O completion;
- ``filtered-prompt``: 400 ``content_filter`` (hate, high; violence, medium), as Azure
  refuses a prompt;
- ``filtered-completion``: the answer cut short with ``finish_reason: content_filter``
  (sexual, medium), whole or streamed;
- ``fail-500``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.utils.processes import free_port
from tests.utils.upstream_embeddings import embeddings_answer
from tests.utils.upstreams import Behaviour, Seen, _last_user_text

API_VERSION = "2024-10-21"
SAFE = {"filtered": False, "severity": "safe"}
CATEGORIES = ("hate", "self_harm", "sexual", "violence")
FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content "
    "management policy. Please modify your prompt and retry."
)


def verdicts(**filtered: str) -> dict[str, Any]:
    """A ``content_filter_result(s)`` object: every category safe but those given."""
    found: dict[str, Any] = {
        c: {"filtered": c in filtered, "severity": filtered.get(c, "safe")} for c in CATEGORIES
    }
    found["jailbreak"] = {"filtered": False, "detected": False}
    return found


def filtered_prompt() -> dict[str, Any]:
    inner = {
        "code": "ResponsibleAIPolicyViolation",
        "content_filter_result": verdicts(hate="high", violence="medium"),
    }
    return {
        "error": {
            "message": FILTER_MESSAGE,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": inner,
        }
    }


def _usage(b: Behaviour) -> dict[str, Any]:
    return {
        "prompt_tokens": b.prompt,
        "completion_tokens": b.completion,
        "total_tokens": b.prompt + b.completion,
        "prompt_tokens_details": {"cached_tokens": b.cached},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _prompt_filter() -> list[dict[str, Any]]:
    return [{"prompt_index": 0, "content_filter_results": verdicts()}]


def completion(body: dict[str, Any], deployment: str) -> dict[str, Any]:
    b = Behaviour.parse(deployment)
    text, finish, results = f"echo: {_last_user_text(body['messages'])}", "stop", verdicts()
    if b.name == "filtered":
        text, finish, results = "Here is a", "content_filter", verdicts(sexual="medium")
    return {
        "id": "chatcmpl-azure1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-2024-11-20",
        "system_fingerprint": "fp_azure",
        "prompt_filter_results": _prompt_filter(),
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "logprobs": None,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "content_filter_results": results,
            }
        ],
        "usage": _usage(b),
    }


def chunks(body: dict[str, Any], deployment: str) -> list[dict[str, Any]]:
    """The stream's chunks, Azure's annotation-only one first."""
    whole = completion(body, deployment)
    choice = whole["choices"][0]
    base = {
        "id": "chatcmpl-azure1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": whole["model"],
        "system_fingerprint": "fp_azure",
    }
    found: list[dict[str, Any]] = [
        {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": _prompt_filter(),
        },
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                    "logprobs": None,
                }
            ],
        },
    ]
    for word in choice["message"]["content"].split(" "):
        delta = {"content": word if len(found) == 2 else " " + word}
        found.append(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "finish_reason": None,
                        "logprobs": None,
                        "content_filter_results": verdicts(),
                    }
                ],
            }
        )
    found.append(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "logprobs": None,
                    "finish_reason": choice["finish_reason"],
                    "content_filter_results": choice["content_filter_results"],
                }
            ],
        }
    )
    if (body.get("stream_options") or {}).get("include_usage"):
        found.append({**base, "choices": [], "usage": whole["usage"]})
    return found


@dataclass
class FakeAzure:
    api_key: str = "azure-key-0123456789abcdef"
    tokens: set[str] = field(default_factory=set)
    """Bearer tokens it accepts (the fake token endpoint adds those it issues)."""
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAzure:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.seen.append(Seen(self.path, dict(self.headers.items()), body))
                parts = urlsplit(self.path)
                version = parse_qs(parts.query).get("api-version")
                segments = parts.path.split("/")
                if parts.path.startswith("/openai/v1/"):
                    deployment, what = str(body.get("model")), segments[3]
                elif parts.path.startswith("/openai/deployments/") and version == [API_VERSION]:
                    deployment, what = segments[3], "/".join(segments[4:])
                else:
                    self._json(404, {"error": {"code": "404", "message": "Resource not found"}})
                    return
                if not self._authorized():
                    message = f"Access denied: invalid key {self.headers.get('api-key')}."
                    self._json(401, {"error": {"code": "401", "message": message}})
                elif what == "embeddings":
                    self._json(200, embeddings_answer(body, deployment))
                elif deployment == "filtered-prompt":
                    self._json(400, filtered_prompt())
                elif deployment == "fail-500":
                    self._json(500, {"error": {"code": "InternalServerError", "message": "oops"}})
                elif body.get("stream"):
                    self._stream(chunks(body, deployment))
                else:
                    self._json(200, completion(body, deployment))

            def _authorized(self) -> bool:
                bearer = self.headers.get("authorization", "")
                if self.headers.get("api-key") is not None:
                    return self.headers["api-key"] == fake.api_key and not bearer
                return bearer.startswith("Bearer ") and bearer[7:] in fake.tokens

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, events: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for event in [*(f"data: {json.dumps(e)}\n\n" for e in events), "data: [DONE]\n\n"]:
                    data = event.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
