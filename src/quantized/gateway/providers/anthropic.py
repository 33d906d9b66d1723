"""Anthropic's Messages API, translated both ways.

Requests: system and developer messages become ``system``; user and assistant
turns become alternating messages (consecutive ones merged); image parts become
image blocks (data URLs as base64, others as URLs); assistant ``tool_calls``
become ``tool_use`` blocks and ``tool`` messages ``tool_result`` blocks; tools,
``tool_choice``, ``stop``, ``max_tokens`` (required upstream: default 4096),
``temperature``, ``top_p`` and ``user`` map to their Anthropic forms. A
``json_schema`` response format is served through a forced tool whose input is
returned as the message content.

Answers: text blocks join into ``content``, ``tool_use`` blocks become
``tool_calls``, stop reasons map to finish reasons (``end_turn``/``stop_sequence``
→ ``stop``, ``max_tokens`` → ``length``, ``tool_use`` → ``tool_calls``), and
usage maps to OpenAI's (prompt tokens include cache reads and writes; cache reads
are ``prompt_tokens_details.cached_tokens``). Streams translate
``message_start``, ``content_block_start``/``delta`` (text and
``input_json_delta``) and ``message_delta`` into chat-completion chunks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from quantized.catalog.model import Upstream
from quantized.errors import BadGatewayError
from quantized.gateway.providers.base import Provider, json_answer
from quantized.gateway.providers.openai import token_count
from quantized.gateway.providers.parts import data_url, image_url, text_of
from quantized.gateway.streams import (
    StreamTranslator,
    UpstreamCall,
    Usage,
    event_data,
    json_event,
    sse_event,
)

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest

VERSION = b"2023-06-01"
DEFAULT_MAX_TOKENS = 4096
JSON_TOOL = "json_response"
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


def _image(part: dict[str, Any]) -> dict[str, Any]:
    url = image_url(part)
    found = data_url(url)
    if found is not None:
        media_type, data = found
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content or []:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind in ("image_url", "input_image"):
            blocks.append(_image(part))
    return blocks


def _arguments(text: Any) -> Any:
    try:
        return orjson.loads(text) if isinstance(text, str) and text else {}
    except orjson.JSONDecodeError:
        return {"arguments": text}


def translate_messages(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """OpenAI messages as Anthropic's ``system`` and alternating ``messages``."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content))
            continue
        if role in ("tool", "function"):
            role, blocks = (
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.get("tool_call_id") or message.get("name") or "",
                        "content": text_of(content),
                    }
                ],
            )
        else:
            blocks = _blocks(content)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": _arguments(function.get("arguments")),
                    }
                )
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return ("\n\n".join(system) if system else None), turns


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"type": "tool", "name": choice["function"].get("name", "")}
    return None


def translate_request(request: ChatRequest, model: str) -> dict[str, Any]:
    body = request.body
    system, messages = translate_messages(request.messages)
    out: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or DEFAULT_MAX_TOKENS,
    }
    if system is not None:
        out["system"] = system
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.stream:
        out["stream"] = True
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    tools = [
        {
            "name": (t.get("function") or {}).get("name", ""),
            "description": (t.get("function") or {}).get("description", ""),
            "input_schema": (t.get("function") or {}).get("parameters")
            or {"type": "object", "properties": {}},
        }
        for t in body.get("tools") or []
        if isinstance(t, dict)
    ]
    choice = _tool_choice(body.get("tool_choice"))
    if request.wants_json_schema:
        schema = (body["response_format"].get("json_schema") or {}).get("schema") or {}
        tools.append(
            {"name": JSON_TOOL, "description": "Answer with this JSON.", "input_schema": schema}
        )
        choice = {"type": "tool", "name": JSON_TOOL}
    if tools:
        out["tools"] = tools
    if choice is not None and tools:
        out["tool_choice"] = choice
    return out


USAGE_FIELDS = (
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens",
)


def anthropic_usage_of(data: Any) -> Usage:
    """Anthropic's usage as OpenAI's: prompt tokens include cache reads and cache writes."""
    if not isinstance(data, dict):
        return Usage()
    cached = token_count(data.get("cache_read_input_tokens"))
    written = token_count(data.get("cache_creation_input_tokens"))
    return Usage(
        prompt_tokens=token_count(data.get("input_tokens")) + cached + written,
        cached_tokens=cached,
        completion_tokens=token_count(data.get("output_tokens")),
        cache_write_tokens=written,
    )


def openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def translate_message(data: dict[str, Any], json_mode: bool) -> tuple[dict[str, Any], Usage]:
    """An Anthropic message as an OpenAI ``chat.completion``."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in data.get("content") or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            if json_mode and block.get("name") == JSON_TOOL:
                text.append(orjson.dumps(block.get("input", {})).decode())
                continue
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input", {})).decode(),
                    },
                }
            )
    usage = anthropic_usage_of(data.get("usage"))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if calls:
        message["tool_calls"] = calls
    finish = _FINISH.get(data.get("stop_reason") or "", "stop")
    if json_mode and finish == "tool_calls" and not calls:
        finish = "stop"
    return {
        "id": data.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": openai_usage(usage),
    }, usage


class ReportedUsage:
    """A stream's usage: the last value of each field, from ``message_start`` then each
    ``message_delta`` (whose usage is cumulative and may add or correct input and cache
    counts), as Anthropic's own SDK accumulates them."""

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}

    def report(self, usage: Any) -> bool:
        """Take an event's ``usage``; whether it had one."""
        if not isinstance(usage, dict):
            return False
        for name in USAGE_FIELDS:
            if usage.get(name) is not None:
                self._fields[name] = usage[name]
        return True

    @property
    def total(self) -> Usage:
        return anthropic_usage_of(self._fields)


class AnthropicStream(StreamTranslator):
    def __init__(self, include_usage: bool, json_mode: bool) -> None:
        super().__init__()
        self._include_usage = include_usage
        self._json_mode = json_mode
        self._id = ""
        self._model = ""
        self._created = int(time.time())
        self._tools: dict[int, int] = {}
        """Anthropic content-block index -> OpenAI tool-call index."""
        self._json_blocks: set[int] = set()
        self._reported = ReportedUsage()
        self._finish: str | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }
        )

    def translate(self, event: bytes) -> list[bytes]:
        payload = event_data(event)
        if payload is None:
            return []
        data = json_event(payload)
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            self._id, self._model = message.get("id", ""), message.get("model", "")
            self._reported.report(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            index = data.get("index", 0)
            if block.get("type") == "tool_use":
                if self._json_mode and block.get("name") == JSON_TOOL:
                    self._json_blocks.add(index)
                    return []
                position = self._tools[index] = len(self._tools)
                return [
                    self._chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": position,
                                    "id": block.get("id", ""),
                                    "type": "function",
                                    "function": {"name": block.get("name", ""), "arguments": ""},
                                }
                            ]
                        }
                    )
                ]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            index = data.get("index", 0)
            self.chunks += 1
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                partial = delta.get("partial_json", "")
                if index in self._json_blocks:
                    return [self._chunk({"content": partial})]
                return [
                    self._chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": self._tools.get(index, 0),
                                    "function": {"arguments": partial},
                                }
                            ]
                        }
                    )
                ]
            return []
        if kind == "message_delta":
            reason = (data.get("delta") or {}).get("stop_reason") or ""
            self._finish = _FINISH.get(reason, "stop")
            if self._json_mode and self._finish == "tool_calls" and not self._tools:
                self._finish = "stop"
            self._reported.report(data.get("usage"))
            self.usage = self._reported.total
            return [self._chunk({}, self._finish)]
        if kind == "error":  # the stream ends here; the client gets it in its API's words
            error = data.get("error") or {}
            raise BadGatewayError(
                f"The upstream reported an error ({error.get('type', 'error')}): "
                f"{error.get('message', 'no details')}"
            )
        return []

    def finish(self) -> list[bytes]:
        out = []
        if self._include_usage and self.usage is not None:
            out.append(
                sse_event(
                    {
                        "id": self._id,
                        "object": "chat.completion.chunk",
                        "created": self._created,
                        "model": self._model,
                        "choices": [],
                        "usage": openai_usage(self.usage),
                    }
                )
            )
        return [*out, *super().finish()]


def messages_call(
    upstream: Upstream,
    api_key: str | None,
    path: str,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> UpstreamCall:
    """A call to an Anthropic endpoint: ``headers`` (the client's ``anthropic-*`` ones, when
    passed through), ``anthropic-version`` unless they have it, and the gateway's key."""
    sent = [(b"content-type", b"application/json"), (b"accept-encoding", b"identity"), *headers]
    if not any(name == b"anthropic-version" for name, _ in headers):
        sent.append((b"anthropic-version", VERSION))
    if api_key is not None:
        sent.append((b"x-api-key", api_key.encode()))
    return UpstreamCall(upstream.base_url.rstrip("/") + path, sent, body)


class AnthropicProvider(Provider):
    name = "anthropic"

    def call(self, request: ChatRequest, upstream: Upstream, api_key: str | None) -> UpstreamCall:
        body = orjson.dumps(translate_request(request, upstream.model))
        return messages_call(upstream, api_key, "/v1/messages", body)

    def completion(self, request: ChatRequest, body: bytes) -> tuple[bytes, Usage]:
        message, usage = translate_message(json_answer(body), request.wants_json_schema)
        return orjson.dumps(message), usage

    def translator(self, request: ChatRequest) -> StreamTranslator:
        return AnthropicStream(request.include_usage, request.wants_json_schema)
