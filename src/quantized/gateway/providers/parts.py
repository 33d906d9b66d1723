"""Pieces of an OpenAI chat request every translating provider reads alike."""

from __future__ import annotations

from typing import Any

import orjson


def text_of(content: Any) -> str:
    """A message's text: the string, or its parts' texts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def image_url(part: dict[str, Any]) -> Any:
    """An ``image_url`` part's URL (given as ``{"url": …}`` or, loosely, as the string)."""
    url = part.get("image_url")
    return url.get("url") if isinstance(url, dict) else url


def data_url(url: Any) -> tuple[str, str] | None:
    """``(media type, base64 data)`` of a base64 data URL, else ``None``."""
    if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
        media, _, data = url[5:].partition(";base64,")
        return media.strip().lower(), data
    return None


def arguments_object(text: Any) -> dict[str, Any]:
    """A tool call's ``arguments`` (JSON text) as the object APIs that take one need; text
    that is not a JSON object is wrapped (``arguments`` or ``value``), never refused."""
    try:
        value = orjson.loads(text) if isinstance(text, str) and text else {}
    except orjson.JSONDecodeError:
        return {"arguments": text}
    return value if isinstance(value, dict) else {"value": value}
