"""The stream of an upstream that serves the Responses API itself, relayed event by event.

Events pass through byte for byte, with one exception: the event that ends the
response (``response.completed``, ``response.incomplete`` or ``response.failed``)
is held until the upstream's stream has ended, so the gateway can bill the usage
it reports and store the response before the client learns it is complete (a
client that continues it at once with ``previous_response_id`` then finds it).
Events are told apart by their ``event:`` line, as OpenAI sends it; only the
ending ones (and, from a server that sends no such line, all but deltas) are
parsed; the others are scanned for their sequence number.
"""

from __future__ import annotations

import re
from typing import Any

from quantized.gateway.providers.openai import token_count
from quantized.gateway.streams import (
    StreamTranslator,
    Usage,
    event_data,
    event_name,
    invalid_response,
    json_event,
)

ENDINGS = (b"response.completed", b"response.incomplete", b"response.failed")
_SEQUENCE = re.compile(rb'"sequence_number"\s*:\s*([0-9]{1,18})')


def usage_of(response: Any) -> Usage | None:
    """The tokens a Responses API ``usage`` object reports (reasoning is part of output)."""
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(
        prompt_tokens=token_count(usage.get("input_tokens")),
        cached_tokens=token_count(cached),
        completion_tokens=token_count(usage.get("output_tokens")),
    )


class ResponsesRelay(StreamTranslator):
    def __init__(self) -> None:
        super().__init__()
        self.response: dict[str, Any] | None = None
        """The final response object, once the upstream sent it completed."""
        self._ending: bytes | None = None

    def translate(self, event: bytes) -> list[bytes]:
        found = _SEQUENCE.search(event)
        if found is not None:
            self.sequence = int(found.group(1)) + 1
        name = event_name(event)
        if name is not None and name.endswith(b".delta"):
            self.chunks += 1
            return [event + b"\n\n"]
        if name is not None and name not in ENDINGS and name != b"error":
            return [event + b"\n\n"]
        payload = event_data(event)  # no event line (some servers): read its type
        data = json_event(payload) if payload is not None else {}
        kind = data.get("type")
        if isinstance(kind, str) and kind.endswith(".delta"):
            self.chunks += 1
        if kind == "error":
            self.error_code = "upstream_error"
        if kind not in ("response.completed", "response.incomplete", "response.failed"):
            return [event + b"\n\n"]
        response = data.get("response")
        self.usage = usage_of(response) or self.usage
        if kind == "response.failed":
            self.error_code = "upstream_failed"
        elif isinstance(response, dict):
            self.response = response
        self._ending = event + b"\n\n"
        return []

    def finish(self) -> list[bytes]:
        if self._ending is None and self.error_code is None:
            raise invalid_response("the stream ended before the response was complete")
        return [self._ending] if self._ending is not None else []
