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
from dataclasses import dataclass
from typing import Any, Protocol

Caller = tuple[str, str]
"""(kind, id) of the caller, as :class:`~quantized.auth.principal.Principal` names it."""


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


_PREFIXES = {
    "message": "msg_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "custom_tool_call": "ctc_",
    "custom_tool_call_output": "ctco_",
    "reasoning": "rs_",
}


def with_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items``, each with a ``type`` (a message may come without one) and an ``id`` (made
    here, by its type, where the client gave none)."""
    found = []
    for item in items:
        kind = item.get("type") or "message"
        made = item.get("id") or _PREFIXES.get(kind, "item_") + secrets.token_hex(24)
        found.append(
            item if item.get("id") and item.get("type") else {**item, "id": made, "type": kind}
        )
    return found
