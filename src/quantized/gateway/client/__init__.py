"""A lean HTTP/1.1 client for upstream providers.

Proxying is the gateway's hot path, and general-purpose clients cost several
hundred microseconds a request (httpx measured ~550 µs, aiohttp ~120 µs on this
machine; this client ~60 µs for the same round trip). It does only what talking
to an LLM API needs: keep-alive connection pools per origin (and egress proxy),
TLS, ``POST`` requests with a body, responses with ``Content-Length`` or chunked
bodies read whole (size-limited) or as a stream, and clear errors.

**A request is never sent twice.** Upstream calls are billed, so once any byte of
a request was written to a connection the client never writes that request
again, on any connection: a connection that breaks after the write raises
``UpstreamUnreachable(sent=True)``. The one case where a request goes to another
connection is a kept-alive connection from the idle pool that the upstream had
closed before anything was written to it (the event loop saw end of file or a
lost connection, or its transport is closing): it is dropped and the request is
written, once, to the next idle connection or a new one. Every error carries
``sent``: a caller may try another upstream only when it is False.

The pieces: :mod:`.errors` (the error tree), :mod:`.origin` (URLs), :mod:`.connection`
(one connection), :mod:`.response`, :mod:`.pool` (per-origin pools and their limit),
:mod:`.proxy` (``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` rules), :mod:`.tunnel`
(``CONNECT``) and :mod:`.client` (:class:`UpstreamClient`).
"""

from quantized.gateway.client.client import UpstreamClient
from quantized.gateway.client.errors import (
    UpstreamError,
    UpstreamProxyRefused,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from quantized.gateway.client.response import Headers, Response

__all__ = [
    "Headers",
    "Response",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamProxyRefused",
    "UpstreamResponseTooLarge",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]
