"""Request bodies: read once, within the size limit, within the memory the process allows.

Every route that takes a body reads it here. A body over ``max_body_bytes``
gets 413 (a declared one is refused by the HTTP protocol before anything is
read, without ``100 Continue``). Bodies are read into one buffer, sized from
``Content-Length`` when it is given, so the bytes are never joined or copied.

:class:`BodyBudget` bounds the bytes of request bodies held at once by the whole
process (``max_body_buffer_bytes``): a request waits for room (reading nothing
more from its socket, so TCP pushes back on the sender) and gets 503
``server_busy`` if none comes within ``wait`` seconds. One caller holding many
large requests open cannot exhaust the server's memory.
"""

from __future__ import annotations

import asyncio
from collections import deque

from quantized.api.asgi import Receive
from quantized.errors import PayloadTooLargeError, ServiceUnavailableError


class ClientGone(Exception):  # noqa: N818 - an event, not an error
    """The client disconnected before its request was read."""


class BodyBudget:
    """Bytes of request bodies the process may hold at once, handed out first come, first served."""

    def __init__(self, capacity: int, wait: float = 10.0) -> None:
        self.capacity = capacity
        self.free = capacity
        self._wait = wait
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def take(self, size: int) -> None:
        if size <= self.free and not self._waiting:
            self.free -= size
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, waiter)
        self._waiting.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self._wait)
        except BaseException as exc:
            if entry in self._waiting:
                self._waiting.remove(entry)
            if waiter.done() and not waiter.cancelled():  # granted meanwhile: hand it back
                self.give(size)
            waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise ServiceUnavailableError(
                    "The server is holding as many request bodies as it may; try again shortly.",
                    code="server_busy",
                    retry_after=1,
                ) from None
            raise

    def give(self, size: int) -> None:
        self.free += size
        while self._waiting and self._waiting[0][0] <= self.free:
            size, waiter = self._waiting.popleft()
            if not waiter.done():
                self.free -= size
                waiter.set_result(None)


class Body:
    """A request body in memory, and the share of the budget it holds until :meth:`release`."""

    __slots__ = ("data", "_budget", "_held")

    def __init__(self, budget: BodyBudget | None) -> None:
        self.data = bytearray()
        self._budget = budget
        self._held = 0

    async def _hold(self, size: int) -> None:
        if self._budget is not None and size:
            await self._budget.take(size)
            self._held += size

    def release(self) -> None:
        if self._budget is not None and self._held:
            self._budget.give(self._held)
        self._held = 0
        self.data = bytearray()


async def read_body(
    receive: Receive, limit: int, *, declared: int | None = None, budget: BodyBudget | None = None
) -> Body:
    """The whole body; ``declared`` is the request's ``Content-Length``, if any.

    Raises :class:`PayloadTooLargeError` past ``limit`` bytes, :class:`ClientGone` if the
    client leaves first, and ``ServiceUnavailableError`` when the budget has no room.
    """
    body = Body(budget)
    try:
        if declared is not None:
            if declared > limit:
                raise PayloadTooLargeError(f"request body over {limit} bytes")
            await body._hold(declared)
            body.data = bytearray(declared)
        size = await _fill(body, receive, limit, declared)
        if declared is not None and size < declared:
            del body.data[size:]
        return body
    except BaseException:
        body.release()
        raise


async def _fill(body: Body, receive: Receive, limit: int, declared: int | None) -> int:
    size = 0
    view = memoryview(body.data) if declared is not None else None
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            end = size + len(chunk)
            if end > limit or (declared is not None and end > declared):
                raise PayloadTooLargeError(f"request body over {limit} bytes")
            if view is not None:
                view[size:end] = chunk
            else:
                await body._hold(len(chunk))
                body.data += chunk
            size = end
            if not message.get("more_body", False):
                return size
    finally:
        if view is not None:
            view.release()


async def discard_body(receive: Receive, limit: int) -> None:
    """Read a body nobody needs (a ``GET`` may carry one), within the size limit."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        size += len(message.get("body", b""))
        if size > limit:
            raise PayloadTooLargeError(f"request body over {limit} bytes")
        if not message.get("more_body", False):
            return


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared body size, when it is a plain number (the HTTP parser checked the rest)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 20 else None
    return None
