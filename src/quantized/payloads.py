"""JSON request bodies: one parser for every endpoint, with the errors callers need.

Text that encodes a NUL character is refused in bodies the gateway stores:
PostgreSQL cannot store it, and no field of the admin API needs it. Model
requests are relayed, never stored (their model must be a catalog id), so they
skip that scan, which costs as much as the parse on a 100 KB body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from quantized.errors import InvalidRequestError

Data = bytes | bytearray

_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
"""``\\u0000`` as an escape (after an even number of backslashes), not the text ``\\\\u0000``."""


JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value :func:`load_json` accepts: no NUL in any string, integers "
    "within 64 bits",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
        {"type": "number"},
        {"type": "string", "pattern": "^[^\\x00]*$"},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": "^[^\\x00]*$"},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
}
"""What a JSON value in a request body may be, as the OpenAPI document's ``JsonValue``."""


def contains_nul(data: Data) -> bool:
    """Whether JSON text encodes a NUL character."""
    return b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None


def _invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, code="invalid_json")


def load_json(data: Data, *, stored: bool = True) -> Any:
    """The JSON value in ``data``, or a 400 that says what is wrong with it; ``stored``
    bodies may not encode NUL characters."""
    if stored and contains_nul(data):
        raise _invalid("request body contains a NUL character")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not bytes(data).strip():
            raise _invalid("request body is empty; send a JSON object") from None
        raise _invalid(f"request body is not valid JSON: {exc}") from None


def load_object(data: Data, *, stored: bool = True) -> dict[str, Any]:
    """A JSON object, or a 400."""
    value = load_json(data, stored=stored)
    if not isinstance(value, dict):
        raise _invalid("request body must be a JSON object")
    return value


MAX_COUNT = 2**63 - 1
"""The largest count a request may carry (JSON encoders stop at 64 bits)."""


def check_count(body: dict[str, Any], name: str, *, required: bool = False) -> None:
    """``body[name]`` is a positive integer within 64 bits (JSON's ``5.0`` is taken as 5
    and stored back), or absent unless ``required``; else a 400 naming it."""
    value = body.get(name)
    if isinstance(value, float) and value.is_integer():
        value = body[name] = int(value)
    if value is None and not required:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_COUNT:
        what = "is required:" if value is None else "must be"
        raise InvalidRequestError(
            f"{name} {what} a positive integer (at most {MAX_COUNT})", param=name
        )


def check_kinds(
    body: dict[str, Any], kinds: Mapping[str, type[list[Any]] | type[dict[str, Any]]]
) -> None:
    """Each of ``kinds`` that ``body`` has (and is not null) is a list or an object, as named."""
    for name, kind in kinds.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            what = "a list" if kind is list else "an object"
            raise InvalidRequestError(f"{name} must be {what}", param=name)
