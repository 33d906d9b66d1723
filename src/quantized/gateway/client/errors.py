"""What can go wrong talking to an upstream, and whether the request may have gone out.

    UpstreamError                  base; ``sent`` says whether any request byte may have
    │                              reached the upstream (its server may be working on it)
    ├── UpstreamUnreachable        no connection (refused, DNS, TLS, proxy): sent=False;
    │   │                          the connection broke or the answer was malformed: sent=True
    │   └── UpstreamProxyRefused   the egress proxy answered CONNECT with a non-2xx status
    ├── UpstreamTimeout            no connection, or no free connection to the origin, in
    │                              time: sent=False; no (further) answer bytes in time: sent=True
    └── UpstreamResponseTooLarge   a body read whole was over the limit (sent=True)

A caller may send the same request elsewhere only when ``sent`` is False: with
``sent`` True the upstream may have received it, worked on it and billed it.
Messages name hosts and ports, never credentials.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Talking to an upstream failed before a complete response arrived."""

    sent: bool
    """Whether any byte of the request may have reached the upstream."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        # True by default: when in doubt, the request may have gone out
        super().__init__(message)
        self.sent = sent


class UpstreamUnreachable(UpstreamError):
    """Could not connect (refused, DNS, TLS, proxy), or the connection broke or misbehaved."""


class UpstreamProxyRefused(UpstreamUnreachable):
    """The egress proxy refused to open a tunnel to the upstream (never sent)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, sent=False)
        self.status = status


class UpstreamTimeout(UpstreamError):
    """No connection, no free connection slot, or no (further) response bytes in time."""


class UpstreamResponseTooLarge(UpstreamError):
    """A response body read whole was larger than the client's limit (always sent)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, sent=True)
