"""Stored responses: what ``store: true`` keeps, and the store the gateway keeps it in.

A stored response belongs to the caller that made it (its kind and id, as the
ledger names callers): no other caller can read, continue or delete it. It
keeps the response object as answered, the request's own input items (with an
id on each, made here when the client gave none) and the conversation before
them, so that ``previous_response_id`` continues it with one lookup:

    conversation of the next request = context + input_items + the response's output

The store (``quantized.store.responses``) forgets a response after the retention
period (``QUANTIZED_RESPONSES_RETENTION_DAYS``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

Caller = tuple[str, str]
"""(kind, id) of the caller, as :class:`~quantized.auth.principal.Principal` names it."""
ITEM_ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "reasoning": "rs",
}
"""How the id made for an item starts, by the item's type (``item`` for other types)."""


def new_id(prefix: str) -> str:
    """``prefix``, an underscore and 24 random hexadecimal digits: ``msg_1f0c…``."""
    return f"{prefix}_{secrets.token_hex(12)}"


def ensure_ids(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items, each with a ``type`` (a message when it has none, as OpenAI's "easy
    input message") and an ``id`` (made by type when it has none). Copies where they
    change: the items given are left as they are."""
    found = []
    for item in items:
        kind = item.get("type")
        if not isinstance(kind, str):
            kind = "message"
            item = {**item, "type": kind}
        if not isinstance(item.get("id"), str) or not item["id"]:
            item = {**item, "id": new_id(ITEM_ID_PREFIXES.get(kind, "item"))}
        found.append(item)
    return found


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    caller: Caller
    created_at: float
    model: str
    response: dict[str, Any]
    """The response object, as the client was answered."""
    input_items: list[dict[str, Any]]
    """The request's own input, each item with an ``id``."""
    context: list[dict[str, Any]]
    """The conversation before this request's input (empty unless it continued one)."""

    def conversation(self) -> list[dict[str, Any]]:
        """Every item a request continuing this response starts from."""
        output = self.response.get("output")
        return [*self.context, *self.input_items, *(output if isinstance(output, list) else ())]


class ResponseStore(Protocol):
    async def get(self, caller: Caller, response_id: str) -> StoredResponse | None:
        """The caller's response, or ``None`` (unknown, expired, or another caller's)."""

    async def put(self, stored: StoredResponse) -> None: ...

    async def delete(self, caller: Caller, response_id: str) -> bool:
        """Whether the caller had such a response (now deleted)."""
