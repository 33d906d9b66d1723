"""An upstream's response: status and headers at once, the body read whole or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from quantized.gateway.client.errors import UpstreamResponseTooLarge

if TYPE_CHECKING:
    from quantized.gateway.client.connection import Connection

Headers = list[tuple[bytes, bytes]]


class Response:
    """A response whose body is read whole (:meth:`read`) or streamed (:meth:`chunks`).

    Read it to the end or :meth:`abort` it: until then its connection stays busy
    and counts against the origin's connection limit.
    """

    __slots__ = ("status", "headers", "_connection", "_done")

    def __init__(self, status: int, headers: Headers, connection: Connection) -> None:
        self.status = status
        self.headers = headers
        """Header names in lower case, in the order received."""
        self._connection = connection
        self._done = False

    def __repr__(self) -> str:
        return f"Response(status={self.status})"

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower case), if any."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def read(self) -> bytes:
        """The whole body; :class:`UpstreamResponseTooLarge` over the client's limit."""
        connection = self._connection
        limit = connection.pool.max_response_bytes
        parts: list[bytes] = []
        size = 0
        while not self._done:
            chunk = await connection.next_chunk()
            if chunk is None:
                self._done = True
                break
            size += len(chunk)
            if size > limit:
                self.abort()
                raise UpstreamResponseTooLarge(
                    f"the response from {connection.pool.origin.hostport} is larger than "
                    f"{limit} bytes"
                )
            parts.append(chunk)
        return b"".join(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (not size-limited)."""
        connection = self._connection
        while not self._done:
            chunk = await connection.next_chunk()
            if chunk is None:
                self._done = True
                return
            yield chunk

    def abort(self) -> None:
        """Drop the connection mid-response (the caller went away); no-op once read."""
        if not self._done:
            self._done = True
            self._connection.close(abort=True)
