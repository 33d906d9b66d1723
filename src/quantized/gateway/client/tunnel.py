"""``CONNECT`` through an HTTP proxy: a raw tunnel to an upstream, for TLS to go inside.

Only ``CONNECT`` and its answer cross the proxy in the clear; the request and the
response travel in TLS between the gateway and the upstream, which the proxy
cannot read. Nothing of the request has been sent when this fails, so every
error here has ``sent=False``.
"""

from __future__ import annotations

import asyncio

from quantized.gateway.client.errors import UpstreamProxyRefused, UpstreamUnreachable
from quantized.gateway.client.origin import Origin
from quantized.gateway.client.proxy import Proxy

MAX_ANSWER_HEAD = 16 * 1024


class _Handshake(asyncio.Protocol):
    """Reads the proxy's answer head to ``CONNECT`` (and refuses anything after it)."""

    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self._buffer = bytearray()
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.answer.done():  # bytes before TLS started: not a clean tunnel
            self._fail("sent bytes after its answer to CONNECT")
            return
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end >= 0:
            if end + 4 < len(self._buffer):
                self._fail("sent bytes after its answer to CONNECT")
            else:
                self.answer.set_result(bytes(self._buffer[:end]))
        elif len(self._buffer) > MAX_ANSWER_HEAD:
            self._fail("answered CONNECT with an oversized head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("closed the connection during CONNECT")

    def _fail(self, what: str) -> None:
        if not self.answer.done():
            message = f"the proxy {self._proxy.hostport} {what}"
            self.answer.set_exception(UpstreamUnreachable(message, sent=False))


def connect_request(proxy: Proxy, origin: Origin) -> bytes:
    target = origin.hostport.encode("idna")
    head = b"CONNECT %s HTTP/1.1\r\nhost: %s\r\n" % (target, target)
    if proxy.authorization is not None:
        head += b"proxy-authorization: " + proxy.authorization + b"\r\n"
    return head + b"\r\n"


def _status(head: bytes) -> tuple[int, str]:
    """The status and reason of an answer head (0 when unreadable)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not (len(code) == 3 and code.isdigit()):
        return 0, ""
    reason = "".join(c for c in reason if c.isprintable())[:100]
    return int(code), reason


async def open_tunnel(proxy: Proxy, origin: Origin) -> asyncio.Transport:
    """A connection to ``proxy`` tunnelled to ``origin``, ready for TLS (the caller's)."""
    loop = asyncio.get_running_loop()
    try:
        transport, handshake = await loop.create_connection(
            lambda: _Handshake(proxy), proxy.host, proxy.port
        )
    except OSError as exc:
        message = f"cannot connect to the proxy {proxy.hostport}: {exc.strerror or exc}"
        raise UpstreamUnreachable(message, sent=False) from None
    try:
        transport.write(connect_request(proxy, origin))
        status, reason = _status(await handshake.answer)
    except BaseException:
        transport.abort()
        raise
    if 200 <= status < 300:
        return transport
    transport.abort()
    if status == 0:
        raise UpstreamUnreachable(
            f"the proxy {proxy.hostport} answered CONNECT with something other than HTTP",
            sent=False,
        )
    answer = f"{status} {reason}".strip()
    raise UpstreamProxyRefused(
        f"the proxy {proxy.hostport} refused CONNECT to {origin.hostport}: {answer}", status=status
    )
