"""Writing a complete reply straight to a transport (the protocols' own answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from uvicorn.server import ServerState

from quantized.api.errors import Reply
from quantized.api.models import render
from quantized.server.limits import status_line

HeaderBlock = Callable[[Sequence[tuple[bytes, bytes]]], bytes]


class ReplyWriter:
    """Status line, ``date`` and ``server`` (as uvicorn refreshes them each second, serialised
    once a second), the reply's headers, ``x-request-id``, the body."""

    __slots__ = ("_state", "_block", "_source", "_defaults")

    def __init__(self, state: ServerState, block: HeaderBlock = render) -> None:
        self._state = state
        self._block = block
        self._source: object = None
        self._defaults = b""

    def write(
        self, transport: asyncio.Transport, reply: Reply, request_id: bytes, *, close: bool
    ) -> None:
        status, headers, body = reply
        source = self._state.default_headers
        if source is not self._source:
            self._source = source
            self._defaults = render(source)
        head = b"".join(
            (
                status_line(status),
                self._defaults,
                self._block(headers),
                b"x-request-id: ",
                request_id,
                b"\r\nconnection: close\r\n\r\n" if close else b"\r\n\r\n",
            )
        )
        if len(body) < 4096:
            transport.write(head + body)
        else:  # no copy of a large body: the transport sends both parts at once (writev)
            transport.writelines((head, body))
