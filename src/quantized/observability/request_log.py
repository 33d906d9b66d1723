"""The request log: one line per model request (chat, messages, responses, embeddings).

With ``QUANTIZED_ACCESS_LOG`` on, :class:`RequestLog` watches the pipeline and logs each
request as it ends, on the ``quantized.requests`` logger, its facts as the line's fields
(``quantized.observability.logs`` writes them as JSON fields or ``key=value``): who called
(``kind:id``, a key's id or a token's subject, never a credential), the model, the
upstream that served it, the status, the tokens, the cost and the latency.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from quantized.gateway.observe import Observer, Watch
from quantized.gateway.streams import Headers
from quantized.usage.cost import from_pico

if TYPE_CHECKING:
    from quantized.gateway.pipeline import Exchange

log = logging.getLogger("quantized.requests")


def request_fields(exchange: Exchange) -> dict[str, Any]:
    """The request log's fields for a finished request (``None``: not known)."""
    outcome, record = exchange.outcome, exchange.record
    caller = exchange.caller
    found: dict[str, Any] = {
        "request_id": exchange.request_id,
        "caller": f"{caller[0]}:{caller[1]}" if caller else None,
        "endpoint": outcome.endpoint,
        "model": outcome.model.id if outcome.model is not None else None,
        "upstream": outcome.upstream,
        "status": outcome.status,
        "error": outcome.error_code,
    }
    if record is None:  # refused before the caller was known: nothing was billed
        latency = (time.perf_counter() - exchange.timing.start) * 1000
    else:
        latency = record.latency_ms
        found["tokens"] = {
            "prompt": record.prompt_tokens,
            "cached": record.cached_tokens,
            "completion": record.completion_tokens,
        }
        found["cost"] = f"{from_pico(record.cost_pusd):f}"
        if record.price_id is not None:
            found["price_id"] = record.price_id
    found["latency_ms"] = round(latency, 1)
    return found


class RequestLogWatch(Watch):
    """Keeps nothing per request, so one serves all."""

    __slots__ = ()

    def finished(self, exchange: Exchange) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info("model request", extra=request_fields(exchange))


class RequestLog(Observer):
    def __init__(self) -> None:
        self._watch = RequestLogWatch()

    def watch(self, request_id: str, endpoint: str, headers: Headers) -> Watch:
        return self._watch
