"""What the pipeline tells whoever watches its requests (metrics, traces).

The pipeline knows nothing of Prometheus or OpenTelemetry: it asks its
:class:`Observer` for a :class:`Watch` when a request begins and tells it about
each upstream attempt and the end of the request. The base classes do nothing,
so a gateway with nothing to observe pays for a few method calls. The instants
of a request are kept on :class:`Timing` whoever watches: the HTTP adapter
writes ``Server-Timing`` from them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quantized.gateway.streams import Headers

if TYPE_CHECKING:
    from quantized.gateway.pipeline import Exchange
    from quantized.gateway.router import Route

log = logging.getLogger("quantized.gateway")


@dataclass(slots=True)
class Timing:
    """``time.perf_counter()`` instants of one request (0.0: did not happen)."""

    start: float
    """When the request arrived."""
    read: float = 0.0
    """When its body had been read (the client's upload is not the gateway's time)."""
    upstream: float = 0.0
    """When the first upstream attempt was sent."""
    served: float = 0.0
    """When the attempt that served the request was sent."""
    first: float = 0.0
    """When the serving upstream's answer began to arrive: its whole body (whole answers)
    or its first chunk (streams)."""
    end: float = 0.0
    """When the upstream's answer was complete."""

    def milliseconds(self, now: float) -> tuple[float, float, float | None]:
        """(gateway, upstream, time to first token) up to ``now``, in milliseconds: the
        upstream's part is the time spent waiting for upstreams, the gateway's the rest
        since the body was read; time to first token counts from the request's arrival."""
        since = self.read or self.start
        if not self.upstream:
            return (now - since) * 1000, 0.0, None
        waited = (self.first or now) - self.upstream
        ttft = (self.first - self.start) * 1000 if self.first else None
        return (now - since - waited) * 1000, waited * 1000, ttft


class Watch:
    """One request, as the pipeline tells it; every method does nothing here."""

    __slots__ = ()

    def request(self, body: bytes | bytearray) -> None:
        """The request's body, before it is parsed."""

    def attempt(self, route: Route) -> Headers:
        """An attempt at ``route`` begins; returns headers to send with it (trace context)."""
        return []

    def attempt_failed(self, route: Route, reason: str, *, retried: bool) -> None:
        """The attempt failed (``reason``: an HTTP status, ``timeout`` or ``unreachable``);
        ``retried``: the next upstream is tried. The attempt that serves the request ends
        with the request (:meth:`finished`)."""

    def answer(self, data: bytes) -> None:
        """Bytes of the answer, as the client gets them: the whole body, or each stream part."""

    def streaming(self, relaying: bool) -> None:
        """A streamed answer starts (``True``) or stops (``False``) being relayed."""

    def finished(self, exchange: Exchange) -> None:
        """The request ended (recorded, or refused before a caller was known)."""


NO_WATCH = Watch()


class Observer:
    """Gives each request its :class:`Watch`; this one watches nothing."""

    def watch(self, request_id: str, endpoint: str, headers: Headers) -> Watch:
        """The watch of a request to ``endpoint`` (chat, messages, responses, embeddings),
        whose client sent ``headers``."""
        return NO_WATCH


class Watches(Watch):
    """Several watches told the same things (metrics and traces)."""

    __slots__ = ("_watches",)

    def __init__(self, watches: list[Watch]) -> None:
        self._watches = watches

    def request(self, body: bytes | bytearray) -> None:
        for watch in self._watches:
            watch.request(body)

    def answer(self, data: bytes) -> None:
        for watch in self._watches:
            watch.answer(data)

    def attempt(self, route: Route) -> Headers:
        headers: Headers = []
        for watch in self._watches:
            headers += watch.attempt(route)
        return headers

    def attempt_failed(self, route: Route, reason: str, *, retried: bool) -> None:
        for watch in self._watches:
            watch.attempt_failed(route, reason, retried=retried)

    def streaming(self, relaying: bool) -> None:
        for watch in self._watches:
            watch.streaming(relaying)

    def finished(self, exchange: Exchange) -> None:
        for watch in self._watches:  # each, whatever another does
            try:
                watch.finished(exchange)
            except Exception:
                log.exception("observing request %s failed", exchange.request_id)


class Observers(Observer):
    """Every observer of the gateway, as one."""

    def __init__(self, observers: list[Observer]) -> None:
        self._observers = observers
        if len(observers) == 1:  # the usual case: no list a request
            self.watch = observers[0].watch  # type: ignore[method-assign]

    def watch(self, request_id: str, endpoint: str, headers: Headers) -> Watch:
        if not self._observers:
            return NO_WATCH
        watches = [observer.watch(request_id, endpoint, headers) for observer in self._observers]
        watches = [watch for watch in watches if watch is not NO_WATCH]
        if not watches:
            return NO_WATCH
        return watches[0] if len(watches) == 1 else Watches(watches)
