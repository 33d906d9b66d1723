"""An OpenAI chat request as a body for Gemini's ``generateContent`` (Gemini API and Vertex AI).

- system and developer messages become ``systemInstruction``; user and assistant turns
  become ``contents`` of roles ``user`` and ``model``, consecutive ones merged; empty
  text is left out (Gemini refuses empty text parts and contents without parts);
- images: data URLs become ``inlineData``, other URLs (``https://``, ``gs://``, Files
  API URIs) ``fileData`` with the MIME type their extension names, if any; audio
  (``input_audio``) and files given as data (``file.file_data``) become ``inlineData``;
- assistant ``tool_calls`` become ``functionCall`` parts, each with the
  ``thoughtSignature`` the gateway sent with it (``extra_content.google.thought_signature``,
  as Google's own OpenAI-compatible API does); a turn whose calls carry none gets
  Google's documented placeholder on its first call (Gemini 3 models refuse function
  calls without one; :data:`LEGACY` models are spared it). ``tool`` messages become
  ``functionResponse`` parts, named after the call they answer, with the result parsed
  as JSON when it is an object and ``{"result": …}`` otherwise;
- tools become ``functionDeclarations`` whose ``parametersJsonSchema`` is the client's
  JSON schema as given (no OpenAPI-subset rewriting: Gemini 2.5 and later read JSON
  schema); ``tool_choice`` ``auto``/``none``/``required`` → ``AUTO``/``NONE``/``ANY``,
  a named function → ``ANY`` limited to it;
- ``response_format`` ``json_schema`` → ``responseMimeType: application/json`` and
  ``responseJsonSchema``; ``json_object`` → the MIME type alone;
- ``max_completion_tokens``/``max_tokens``, ``temperature``, ``top_p``, ``stop``, ``n``,
  ``seed`` and the penalties become ``generationConfig``;
- ``reasoning_effort`` (or OpenRouter's ``reasoning``, or an Anthropic-style ``thinking``)
  becomes ``thinkingConfig.thinkingBudget`` (see :data:`BUDGETS`, Google's own mapping),
  with ``includeThoughts`` so the thoughts come back as ``reasoning_content``;
- ``extra_body.google`` (Google's OpenAI-compatible convention) may carry
  ``thinking_config``, ``cached_content`` and ``safety_settings``.
"""

from __future__ import annotations

import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from quantized.errors import InvalidRequestError
from quantized.gateway.providers.parts import arguments_object, data_url, image_url, text_of

if TYPE_CHECKING:
    from quantized.gateway.surfaces.chat import ChatRequest

BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576}
"""Thinking tokens per ``reasoning_effort``: Google's OpenAI-compatible API's mapping
(``none`` turns thinking off where the model allows it; Gemini 3 models read a budget
as their nearest thinking level)."""
SKIP_SIGNATURE = "skip_thought_signature_validator"
"""The ``thoughtSignature`` Google documents for function calls it did not sign (history
from another model, or a client that dropped the signature)."""
LEGACY = re.compile(r"gemini-(1|2)[.-]")
"""Models that predate thought signatures: no placeholder is sent to them."""
_CHOICES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_THINKING_KEYS = {
    "thinking_budget": "thinkingBudget",
    "include_thoughts": "includeThoughts",
    "thinking_level": "thinkingLevel",
}


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def _image(part: dict[str, Any], where: str) -> dict[str, Any]:
    url = image_url(part)
    if not isinstance(url, str) or not url:
        raise _invalid("an image part needs a URL (image_url.url)", where)
    found = data_url(url)
    if found is not None:
        return {"inlineData": {"mimeType": found[0], "data": found[1]}}
    file: dict[str, Any] = {"fileUri": url}
    mime, _ = mimetypes.guess_type(urlsplit(url).path)
    if mime is not None:
        file["mimeType"] = mime
    return {"fileData": file}


def _audio(part: dict[str, Any], where: str) -> dict[str, Any]:
    audio = part.get("input_audio")
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        raise _invalid("an audio part needs base64 data (input_audio.data)", where)
    kind = str(audio.get("format") or "wav")
    mime = "audio/mpeg" if kind == "mp3" else f"audio/{kind}"
    return {"inlineData": {"mimeType": mime, "data": audio["data"]}}


def _file(part: dict[str, Any], where: str) -> dict[str, Any]:
    file = part.get("file")
    found = data_url(file.get("file_data")) if isinstance(file, dict) else None
    if found is None:
        raise _invalid("Gemini takes files as base64 data URLs (file.file_data)", where)
    return {"inlineData": {"mimeType": found[0], "data": found[1]}}


def content_parts(content: Any, where: str) -> list[dict[str, Any]]:
    """A message's content as Gemini parts."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(content or []):
        kind, param = part.get("type"), f"{where}[{index}]"
        if kind in ("text", "input_text", "output_text"):
            if part.get("text"):
                parts.append({"text": str(part["text"])})
        elif kind in ("image_url", "input_image"):
            parts.append(_image(part, param))
        elif kind == "input_audio":
            parts.append(_audio(part, param))
        elif kind == "file":
            parts.append(_file(part, param))
        elif kind in ("video_url", "input_video"):
            raise _invalid("video parts cannot be sent to a Gemini upstream", param)
    return parts


def _result(content: Any) -> dict[str, Any]:
    text = text_of(content)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _signature(call: dict[str, Any]) -> str | None:
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    found = google.get("thought_signature") if isinstance(google, dict) else None
    return found if isinstance(found, str) and found else None


def _calls(message: dict[str, Any], names: dict[str, str], sign: bool) -> list[dict[str, Any]]:
    """An assistant message's tool calls as ``functionCall`` parts (noting each call's name)."""
    parts: list[dict[str, Any]] = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            continue
        name = str(call["function"].get("name") or "")
        names[str(call.get("id"))] = name
        part: dict[str, Any] = {
            "functionCall": {
                "name": name,
                "args": arguments_object(call["function"].get("arguments")),
            }
        }
        signature = _signature(call)
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    if sign and parts and not any("thoughtSignature" in p for p in parts):
        parts[0]["thoughtSignature"] = SKIP_SIGNATURE
    return parts


def translate_messages(
    messages: list[dict[str, Any]], model: str = ""
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI messages as Gemini's system instruction parts and ``contents``."""
    sign = LEGACY.search(model) is None
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for index, message in enumerate(messages):
        role, where = message["role"], f"messages[{index}].content"
        content = message.get("content")
        if role in ("system", "developer"):
            system += [{"text": text_of(content)}] if text_of(content) else []
            continue
        if role in ("tool", "function"):
            call_id = str(message.get("tool_call_id"))
            name = names.get(call_id) or str(message.get("name") or "")
            response = {"name": name, "response": _result(content)}
            role, parts = "user", [{"functionResponse": response}]
        elif role == "assistant":
            role = "model"
            parts = content_parts(content, where) + _calls(message, names, sign)
        else:
            role, parts = "user", content_parts(content, where)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    declarations = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
            continue
        function = tool["function"]
        declaration: dict[str, Any] = {"name": str(function.get("name") or "")}
        if function.get("description"):
            declaration["description"] = str(function["description"])
        if isinstance(function.get("parameters"), dict) and function["parameters"]:
            declaration["parametersJsonSchema"] = function["parameters"]
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else []


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if isinstance(choice, str) and choice in _CHOICES:
        return {"functionCallingConfig": {"mode": _CHOICES[choice]}}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = str(choice["function"].get("name") or "")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    return None


def _budget(body: dict[str, Any]) -> int | None:
    """The thinking budget asked for: ``thinking.budget_tokens``, OpenRouter's ``reasoning``
    (``max_tokens`` or ``effort``), then ``reasoning_effort``."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        if thinking.get("type") == "disabled":
            return 0
        if isinstance(thinking.get("budget_tokens"), int):
            return int(thinking["budget_tokens"])
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        if isinstance(reasoning.get("max_tokens"), int):
            return int(reasoning["max_tokens"])
        if str(reasoning.get("effort")) in BUDGETS:
            return BUDGETS[str(reasoning["effort"])]
    return BUDGETS.get(str(body.get("reasoning_effort")))


def _generation_config(request: ChatRequest) -> dict[str, Any]:
    body = request.body
    config: dict[str, Any] = {}
    most = body.get("max_completion_tokens") or body.get("max_tokens")
    if most is not None:
        config["maxOutputTokens"] = most
    for name, field in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("n", "candidateCount"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        if body.get(name) is not None:
            config[field] = body[name]
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = body.get("response_format") or {}
    if response_format.get("type") in ("json_schema", "json_object"):
        config["responseMimeType"] = "application/json"
    described = response_format.get("json_schema")
    schema = described.get("schema") if isinstance(described, dict) else None
    if request.wants_json_schema and isinstance(schema, dict):
        config["responseJsonSchema"] = schema
    budget = _budget(body)
    thinking: dict[str, Any] = {}
    if budget is not None:
        thinking = {"thinkingBudget": budget, **({"includeThoughts": True} if budget else {})}
    google = _google(body)
    if isinstance(google.get("thinking_config"), dict):
        given = {_THINKING_KEYS.get(k, k): v for k, v in google["thinking_config"].items()}
        if "thinkingLevel" in given:  # Gemini refuses a level and a budget together
            thinking.pop("thinkingBudget", None)
        thinking.update(given)
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def _google(body: dict[str, Any]) -> dict[str, Any]:
    extra = body.get("extra_body")
    google = extra.get("google") if isinstance(extra, dict) else None
    return google if isinstance(google, dict) else {}


def gemini_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The ``generateContent`` request body (the model goes in the URL)."""
    body = request.body
    system, contents = translate_messages(request.messages, model)
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    tools = _tools(body)
    if tools:
        out["tools"] = tools
        tool_config = _tool_config(body.get("tool_choice"))
        if tool_config is not None:
            out["toolConfig"] = tool_config
    config = _generation_config(request)
    if config:
        out["generationConfig"] = config
    google = _google(body)
    if isinstance(google.get("cached_content"), str):
        out["cachedContent"] = google["cached_content"]
    if isinstance(google.get("safety_settings"), list):
        out["safetySettings"] = google["safety_settings"]
    return out
