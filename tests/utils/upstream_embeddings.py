"""The fake upstream's answer to ``POST …/embeddings`` (OpenAI's format), for ``upstreams``.

Each input (a string, or a token array) gets a vector that depends on it alone:
``dimensions`` values (default :data:`DIMENSIONS`) read from SHA-256 digests of it,
each a multiple of 1/32768 in [-1, 1), so exact as float32 and as JSON alike. With
``encoding_format: base64`` a vector is its little-endian float32s in base64, as
OpenAI sends it. ``usage.prompt_tokens`` counts a string's words and a token array's
tokens (not the gateway's estimate of four characters a token, so a test can tell
which it got); the model ``nousage`` reports no usage at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

DIMENSIONS = 8


def vector(item: str | list[int], dimensions: int = DIMENSIONS) -> list[float]:
    """The fake's embedding of one input."""
    seed = json.dumps(item).encode()
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        values += [v / 32768 for v in struct.unpack("<16h", digest)]
        counter += 1
    return values[:dimensions]


def inputs(value: Any) -> list[str | list[int]]:
    """The inputs of a request's ``input``, one per vector."""
    if isinstance(value, str) or (value and isinstance(value[0], int)):
        return [value]
    return list(value)


def tokens(item: str | list[int]) -> int:
    return len(item.split()) if isinstance(item, str) else len(item)


def embeddings_answer(body: dict[str, Any], model: str) -> dict[str, Any]:
    items = inputs(body["input"])
    dimensions = body.get("dimensions") or DIMENSIONS
    data = []
    for index, item in enumerate(items):
        values: list[float] | str = vector(item, dimensions)
        if body.get("encoding_format") == "base64":
            values = base64.b64encode(struct.pack(f"<{dimensions}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": values})
    answer: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if model != "nousage":
        used = sum(tokens(item) for item in items)
        answer["usage"] = {"prompt_tokens": used, "total_tokens": used}
    return answer
