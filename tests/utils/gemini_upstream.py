"""A fake Gemini API: a real HTTP server speaking Gemini's native protocol.

It serves ``POST /v1beta/models/{model}:generateContent`` and
``…:streamGenerateContent?alt=sse`` (events separated by ``\\r\\n\\r\\n``, as Google's
are), and checks requests the way Gemini does, answering its error shape
(``{"error": {"code", "message", "status"}}``): 403 without ``x-goog-api-key``, 400 with
a wrong one (Gemini's ``API_KEY_INVALID``), 400 for a key in the query string, an
unknown field (top level, part, generation or thinking config, function declaration), a
role other than ``user``/``model``, turns that do not alternate, empty ``parts`` or
text, a ``functionCall`` outside a ``model`` turn or a ``functionResponse`` outside a
``user`` turn, a response that is not an object, ``allowedFunctionNames`` without mode
``ANY``, and — for ``gemini-3…`` models — a function-call turn whose first call has no
``thoughtSignature``.

Zero counts are left out of ``usageMetadata``, as proto3 JSON does. The model name
chooses the behaviour:

- ``echo`` / ``usage-P-C-O-T[-U]``: answers ``echo: <last user text>`` (each of
  ``candidateCount`` candidates), reporting P prompt tokens (C of them cached), O
  candidate tokens, T thought tokens and U tool-use prompt tokens; with
  ``includeThoughts``, a thought part ``thinking about: <text>`` comes first. Streamed
  word by word, each event's cumulative ``usageMetadata`` growing to those counts;
- ``…tools…`` (e.g. ``gemini-3-tools``): with tools declared, calls each of them with
  ``{"city": "Paris"}``, the first call signed ``SIGNATURE`` (as Gemini 3 signs parallel
  calls); after function responses, answers ``results: <their JSON>``;
- ``json``: answers ``{"answer": "<last user text>"}`` (400 without
  ``responseMimeType: application/json``);
- ``blocked``: the prompt blocked (``promptFeedback.blockReason: SAFETY``), no candidates;
- ``safety``: ``Here is`` then ``finishReason: SAFETY``; ``long``: ``MAX_TOKENS``;
- ``fail-500`` / ``fail-429``; ``garbage``: 200 with a body that is not JSON;
- ``truncated`` (streams): events that never bring a ``finishReason``.

Every request is kept (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.utils.processes import free_port
from tests.utils.upstreams import Seen

SIGNATURE = "c2lnbmVkLWJ5LWdlbWluaQ=="
MODEL_VERSION = "gemini-fake-001"
TOP_LEVEL = {
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
}
PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse"}
GENERATION = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "thinkingConfig",
}
THINKING = {"thinkingBudget", "includeThoughts", "thinkingLevel"}
DECLARATION = {"name", "description", "parameters", "parametersJsonSchema"}
MODES = {"AUTO", "ANY", "NONE", "VALIDATED"}


class Invalid(Exception):
    """A request Gemini would refuse (400 INVALID_ARGUMENT)."""


def error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _unknown(found: dict[str, Any], known: set[str], where: str) -> None:
    for name in found:
        if name not in known:
            raise Invalid(f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}'")


def _check_part(part: Any, role: str, where: str) -> None:
    if not isinstance(part, dict):
        raise Invalid(f"{where} must be an object")
    _unknown(part, PART_DATA | {"thought", "thoughtSignature"}, where)
    data = [name for name in part if name in PART_DATA]
    if len(data) != 1:
        raise Invalid(f"{where}: a part holds exactly one of {sorted(PART_DATA)}")
    if "text" in part and not (isinstance(part["text"], str) and part["text"]):
        raise Invalid(f"{where}: Unable to submit request because it has an empty text parameter")
    if "functionCall" in part and (
        role != "model" or not isinstance(part["functionCall"].get("args", {}), dict)
    ):
        raise Invalid(f"{where}: a functionCall belongs in a model turn, with object args")
    if "functionResponse" in part:
        response = part["functionResponse"]
        if (
            role != "user"
            or not response.get("name")
            or not isinstance(response.get("response"), dict)
        ):
            raise Invalid(
                f"{where}: a functionResponse belongs in a user turn, named, with an object"
            )
    if "thoughtSignature" in part:
        try:
            base64.b64decode(part["thoughtSignature"].replace("-", "+").replace("_", "/") + "==")
        except (binascii.Error, AttributeError):
            raise Invalid(f"{where}.thoughtSignature: invalid base64") from None


def check_request(body: dict[str, Any], model: str) -> None:
    """Refuse, as Gemini does, what the gateway must never send."""
    _unknown(body, TOP_LEVEL, "")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    for index, content in enumerate(contents):
        role = content.get("role")
        if role not in ("user", "model"):
            raise Invalid(f"contents[{index}].role: Please use a valid role: user, model.")
        if index and contents[index - 1]["role"] == role:
            raise Invalid("Please ensure that multiturn requests alternate between user and model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Invalid(f"contents[{index}].parts: must include at least one parts field")
        for number, part in enumerate(parts):
            _check_part(part, role, f"contents[{index}].parts[{number}]")
        calls = [p for p in parts if "functionCall" in p]
        if model.startswith("gemini-3") and calls and "thoughtSignature" not in calls[0]:
            raise Invalid(
                "Function call is missing a thought_signature in functionCall parts. "
                f"Additional data, function call `{calls[0]['functionCall'].get('name')}`, "
                f"position {index + 1}."
            )
    for number, part in enumerate(
        (body.get("systemInstruction") or {"parts": [{"text": "-"}]})["parts"]
    ):
        _check_part(part, "user", f"systemInstruction.parts[{number}]")
    for tool in body.get("tools") or []:
        _unknown(tool, {"functionDeclarations"}, "tools")
        for declaration in tool["functionDeclarations"]:
            _unknown(declaration, DECLARATION, "tools.functionDeclarations")
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    if calling and (
        calling.get("mode") not in MODES
        or ("allowedFunctionNames" in calling and calling["mode"] not in ("ANY", "VALIDATED"))
    ):
        raise Invalid("toolConfig.functionCallingConfig: invalid mode or allowedFunctionNames")
    config = body.get("generationConfig") or {}
    _unknown(config, GENERATION, "generation_config")
    _unknown(config.get("thinkingConfig") or {}, THINKING, "generation_config.thinking_config")
    if {"thinkingBudget", "thinkingLevel"} <= set(config.get("thinkingConfig") or {}):
        raise Invalid("You can only set only one of thinking budget and thinking level.")
    if "responseJsonSchema" in config and config.get("responseMimeType") != "application/json":
        raise Invalid("responseJsonSchema needs responseMimeType application/json")


@dataclass
class Behaviour:
    name: str
    prompt: int = 10
    cached: int = 0
    output: int = 5
    thoughts: int = 0
    tool_use: int = 0

    @classmethod
    def parse(cls, model: str) -> Behaviour:
        parts = model.split("-")
        if parts[0] == "usage" and len(parts) in (5, 6):
            return cls("echo", *(int(p) for p in parts[1:]))
        if "tools" in parts:
            return cls("tools")
        return cls(parts[0])


def _last_user(contents: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in reversed(contents) if c["role"] == "user")


def _text_of(content: dict[str, Any]) -> str:
    return " ".join(p["text"] for p in content["parts"] if "text" in p)


def _usage(b: Behaviour, share: float = 1.0) -> dict[str, int]:
    found = {
        "promptTokenCount": b.prompt,
        "cachedContentTokenCount": b.cached,
        "candidatesTokenCount": round(b.output * share),
        "thoughtsTokenCount": round(b.thoughts * share),
        "toolUsePromptTokenCount": b.tool_use,
    }
    found["totalTokenCount"] = sum(v for k, v in found.items() if k != "cachedContentTokenCount")
    return {k: v for k, v in found.items() if v}


def candidate_parts(body: dict[str, Any], b: Behaviour) -> list[dict[str, Any]]:
    last = _last_user(body["contents"])
    text = _text_of(last)
    if b.name == "tools":
        responses = [p["functionResponse"] for p in last["parts"] if "functionResponse" in p]
        if responses:
            return [{"text": f"results: {json.dumps(responses)}"}]
        declared = [d for t in body.get("tools") or [] for d in t["functionDeclarations"]]
        calls = [{"functionCall": {"name": d["name"], "args": {"city": "Paris"}}} for d in declared]
        if calls:
            calls[0]["thoughtSignature"] = SIGNATURE
            return calls
    if b.name == "json":
        if (body.get("generationConfig") or {}).get("responseMimeType") != "application/json":
            raise Invalid("the json model needs responseMimeType application/json")
        return [{"text": json.dumps({"answer": text})}]
    if b.name == "safety":
        return [{"text": "Here is"}]
    parts = [{"text": f"echo: {text}"}]
    if ((body.get("generationConfig") or {}).get("thinkingConfig") or {}).get("includeThoughts"):
        parts.insert(0, {"text": f"thinking about: {text}", "thought": True})
    return parts


FINISH = {"safety": "SAFETY", "long": "MAX_TOKENS"}


def answer(body: dict[str, Any], b: Behaviour) -> dict[str, Any]:
    base = {"usageMetadata": _usage(b), "modelVersion": MODEL_VERSION, "responseId": "resp-1"}
    if b.name == "blocked":
        return {"promptFeedback": {"blockReason": "SAFETY"}, **base}
    count = (body.get("generationConfig") or {}).get("candidateCount") or 1
    candidates = []
    for index in range(count):
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": candidate_parts(body, b)},
            "finishReason": FINISH.get(b.name, "STOP"),
        }
        if index:  # proto3 JSON leaves zeros out
            candidate["index"] = index
        candidates.append(candidate)
    return {"candidates": candidates, **base}


def events(body: dict[str, Any], b: Behaviour) -> list[dict[str, Any]]:
    """The streamed answer: thoughts, then the text word by word, then calls, then the end."""
    whole = answer(body, b)
    if b.name == "blocked":
        return [whole]
    pieces: list[dict[str, Any]] = []
    for part in whole["candidates"][0]["content"]["parts"]:
        if "text" in part and not part.get("thought"):
            words = part["text"].split(" ")
            pieces += [{"text": w if i == 0 else " " + w} for i, w in enumerate(words)]
        else:
            pieces.append(part)
    found = []
    for number, piece in enumerate(pieces, 1):
        event: dict[str, Any] = {
            "candidates": [{"content": {"role": "model", "parts": [piece]}}],
            "usageMetadata": _usage(b, number / len(pieces)),
            "modelVersion": MODEL_VERSION,
            "responseId": "resp-1",
        }
        found.append(event)
    if b.name != "truncated":
        found[-1]["candidates"][0]["finishReason"] = whole["candidates"][0]["finishReason"]
    return found


@dataclass
class FakeGemini:
    api_key: str = "gemini-key-0123456789abcdef"
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1beta"

    def start(self) -> FakeGemini:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._json(
                        400, error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
                    )
                    return
                fake.seen.append(Seen(self.path, dict(self.headers.items()), body))
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                model, _, method = parts.path.removeprefix("/v1beta/models/").partition(":")
                stream = method == "streamGenerateContent"
                if not parts.path.startswith("/v1beta/models/") or method not in (
                    "generateContent",
                    "streamGenerateContent",
                ):
                    self._json(404, error(404, "Not found", "NOT_FOUND"))
                elif (
                    "key" in query or set(query) - {"alt"} or (stream and query != {"alt": ["sse"]})
                ):
                    self._json(
                        400, error(400, f"Unexpected query: {parts.query}", "INVALID_ARGUMENT")
                    )
                elif "x-goog-api-key" not in self.headers:
                    message = "Method doesn't allow unregistered callers."
                    self._json(403, error(403, message, "PERMISSION_DENIED"))
                elif self.headers["x-goog-api-key"] != fake.api_key:
                    message = "API key not valid. Please pass a valid API key."
                    refused = error(400, message, "INVALID_ARGUMENT")
                    refused["error"]["details"] = [  # as Google sends it
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ]
                    self._json(400, refused)
                else:
                    self._answer(body, model, stream)

            def _answer(self, body: dict[str, Any], model: str, stream: bool) -> None:
                b = Behaviour.parse(model)
                if b.name == "fail":
                    status = int(model.split("-")[1])
                    self._json(status, error(status, "The model is overloaded.", "UNAVAILABLE"))
                    return
                if b.name == "garbage":
                    self._raw(200, b"<html>not json</html>", "text/html")
                    return
                try:
                    check_request(body, model)
                    found = events(body, b) if stream else answer(body, b)
                except Invalid as exc:
                    self._json(400, error(400, str(exc), "INVALID_ARGUMENT"))
                    return
                if stream:
                    self._stream(found)  # type: ignore[arg-type]
                else:
                    self._json(200, found)

            def _raw(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _json(self, status: int, payload: Any) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json; charset=UTF-8")

            def _stream(self, found: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for event in found:
                    data = f"data: {json.dumps(event)}\r\n\r\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
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
