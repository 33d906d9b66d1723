"""Tool calls gathered from OpenAI-style stream deltas, however a server numbers them.

OpenAI numbers each parallel call (``index``) and sends its ``id`` once, first.
Other servers do not: Ollama gives every parallel call ``index`` 0, some send no
``index`` at all, and fragments of two calls may interleave. A call is therefore
known by its ``id`` when a delta brings a new one, else by its ``index``, else it
is the last call seen. The calls are sent to the client whole, once the stream
ends: a Messages stream may not return to a content block it has stopped, which
interleaved fragments would need.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCalls:
    def __init__(self, id_prefix: str = "toolu_") -> None:
        self.calls: list[ToolCall] = []
        self._id_prefix = id_prefix
        """What the id made for a call that came without one starts with."""
        self._by_index: dict[int, ToolCall] = {}
        self._ids: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.calls)

    def add(self, delta: dict[str, Any]) -> None:
        """One entry of a chunk's ``delta.tool_calls``."""
        call_id, index = delta.get("id"), delta.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = None
        found = delta.get("function")
        function: dict[str, Any] = found if isinstance(found, dict) else {}
        call = self._find(call_id if isinstance(call_id, str) and call_id else None, index)
        name = function.get("name")
        if isinstance(name, str) and name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)

    def _find(self, call_id: str | None, index: int | None) -> ToolCall:
        if call_id is not None and call_id not in self._ids:
            return self._new(call_id, index)
        if call_id is not None:
            return next(c for c in self.calls if c.id == call_id)
        if index is not None and index in self._by_index:
            return self._by_index[index]
        if index is None and self.calls:
            return self.calls[-1]
        return self._new(self._id_prefix + secrets.token_hex(12), index)

    def _new(self, call_id: str, index: int | None) -> ToolCall:
        call = ToolCall(call_id)
        self.calls.append(call)
        self._ids.add(call_id)
        if index is not None:
            self._by_index[index] = call
        return call
