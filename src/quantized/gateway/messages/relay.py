"""An Anthropic upstream's Messages stream, relayed event by event.

Every event goes to the client as the upstream wrote it — thinking and its
signatures, citations, server tool results, events the gateway has never heard
of — so a client sees exactly what Anthropic sent. Only ``message_start`` and
``message_delta`` are read, for billing: the usage of each field is the last
value reported (``message_delta``'s usage is cumulative and may add or correct
the input and cache counts of ``message_start``), as Anthropic's own SDK does.
"""

from __future__ import annotations

from typing import Any

from quantized.gateway.providers.anthropic import ReportedUsage
from quantized.gateway.streams import StreamTranslator, event_data, json_event

_READ = (b'"message_start"', b'"message_delta"', b'"error"')


class MessagesRelay(StreamTranslator):
    def __init__(self) -> None:
        super().__init__()
        self._reported = ReportedUsage()

    def translate(self, event: bytes) -> list[bytes]:
        if b"content_block_delta" in event:
            self.chunks += 1
        elif any(kind in event for kind in _READ):
            payload = event_data(event)
            if payload is not None:
                data = json_event(payload)
                if data.get("type") == "message_start":
                    self._report((data.get("message") or {}).get("usage"))
                elif data.get("type") == "message_delta":
                    self._report(data.get("usage"))
                elif data.get("type") == "error":  # relayed as sent; the ledger notes it
                    self.error_code = "upstream_error"
        return [event + b"\n\n"]

    def _report(self, usage: Any) -> None:
        if self._reported.report(usage):
            self.usage = self._reported.total

    def finish(self) -> list[bytes]:
        return []
