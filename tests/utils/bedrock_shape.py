"""What Bedrock's Converse API accepts as a request body: ``converse_problem`` says what
is wrong with one, as Bedrock's ``ValidationException`` would (``None``: nothing)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

TOP = {
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "additionalModelRequestFields",
    "guardrailConfig",
    "additionalModelResponseFieldPaths",
    "requestMetadata",
    "performanceConfig",
}
INFERENCE = {"maxTokens", "temperature", "topP", "stopSequences"}
BLOCKS = {"text", "image", "document", "toolUse", "toolResult", "cachePoint", "reasoningContent"}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}


def _base64(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        return False
    return isinstance(value, str) and bool(value)


def _block(block: Any, where: str) -> str | None:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCKS:
        return f"{where} must hold exactly one of {sorted(BLOCKS)}"
    kind, value = next(iter(block.items()))
    if kind == "text" and (not isinstance(value, str) or not value.strip()):
        return f"The text field in the ContentBlock object at {where} is blank."
    if kind == "cachePoint" and value != {"type": "default"}:
        return f"{where}.cachePoint must be {{'type': 'default'}}"
    if kind == "image":
        if value.get("format") not in IMAGE_FORMATS or set(value) != {"format", "source"}:
            return f"{where}.image.format is invalid"
        if set(value["source"]) != {"bytes"} or not _base64(value["source"]["bytes"]):
            return f"{where}.image.source.bytes must be base64"
    if kind == "document" and (
        not _base64((value.get("source") or {}).get("bytes")) or not value.get("name")
    ):
        return f"{where}.document needs a name and base64 bytes"
    if kind == "toolUse" and (
        set(value) != {"toolUseId", "name", "input"} or not isinstance(value["input"], dict)
    ):
        return f"{where}.toolUse needs toolUseId, name and an input object"
    if kind == "toolResult":
        if not isinstance(value.get("toolUseId"), str) or not isinstance(
            value.get("content"), list
        ):
            return f"{where}.toolResult needs toolUseId and content"
        for number, part in enumerate(value["content"]):
            if (
                not isinstance(part, dict)
                or len(part) != 1
                or next(iter(part))
                not in (
                    "text",
                    "json",
                    "image",
                    "document",
                )
            ):
                return f"{where}.toolResult.content.{number} is invalid"
    return None


def _messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for index, message in enumerate(messages):
        if set(message) != {"role", "content"} or message["role"] not in ("user", "assistant"):
            return f"messages.{index} must have a role (user or assistant) and content"
        if message["role"] == ("user" if index % 2 else "assistant"):
            return "A conversation must alternate between user and assistant roles."
        if not isinstance(message["content"], list) or not message["content"]:
            return f"messages.{index}.content must be a non-empty list"
        for number, block in enumerate(message["content"]):
            problem = _block(block, f"messages.{index}.content.{number}")
            if problem:
                return problem
    return None


def _tool_config(body: dict[str, Any]) -> str | None:
    config = body.get("toolConfig")
    used = any("toolUse" in b or "toolResult" in b for m in body["messages"] for b in m["content"])
    if config is None:
        return (
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
            if used
            else None
        )
    if set(config) - {"tools", "toolChoice"} or not config.get("tools"):
        return "toolConfig must have tools"
    for tool in config["tools"]:
        if "cachePoint" in tool:
            continue
        spec = tool.get("toolSpec") or {}
        if not spec.get("name") or set(spec.get("inputSchema") or {}) != {"json"}:
            return "toolConfig.tools.toolSpec needs a name and inputSchema.json"
        if "description" in spec and not spec["description"]:
            return "toolSpec.description must not be empty"
    choice = config.get("toolChoice")
    if choice is not None and (
        len(choice) != 1 or next(iter(choice)) not in ("auto", "any", "tool")
    ):
        return "toolChoice must be one of auto, any, tool"
    return None


def converse_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if set(body) - TOP:
        return f"Unknown fields: {sorted(set(body) - TOP)}"
    problem = _messages(body.get("messages"))
    if problem:
        return problem
    for index, block in enumerate(body.get("system") or []):
        if set(block) not in ({"text"}, {"cachePoint"}):
            return f"system.{index} must be a text or a cachePoint block"
    if set(body.get("inferenceConfig") or {}) - INFERENCE:
        return "inferenceConfig has unknown fields"
    return _tool_config(body)
