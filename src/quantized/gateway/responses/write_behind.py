"""Stored responses written behind the answer: a put returns at once, the write follows.

Writing a response to the database costs a transaction (several milliseconds on
SQLite); a client waiting for it would pay that on every ``store: true`` request
(OpenAI's default). Here the response is kept in memory from the moment it is
put until its write has landed, so this instance reads it back (``GET``,
``previous_response_id``) at once; other instances see it once written, a few
milliseconds later. A delete waits for the write under way first, so it cannot
be undone by it. Writes are background work of the runtime, awaited (bounded) at
shutdown; one that fails is logged, and that response cannot be continued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from quantized.gateway.responses.stored import Caller, StoredResponse

log = logging.getLogger("quantized.gateway")
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class KeepingStore(Protocol):
    @property
    def keeps(self) -> bool: ...

    async def get(self, caller: Caller, response_id: str) -> StoredResponse | None: ...

    async def put(self, stored: StoredResponse) -> None: ...

    async def delete(self, caller: Caller, response_id: str) -> bool: ...


class WriteBehind:
    """A :class:`~quantized.gateway.responses.stored.ResponseStore` over ``store``."""

    def __init__(self, store: KeepingStore, spawn: Spawn) -> None:
        self._store = store
        self._spawn = spawn
        self._pending: dict[tuple[Caller, str], tuple[StoredResponse, asyncio.Future[Any]]] = {}

    @property
    def keeps(self) -> bool:
        return self._store.keeps

    @property
    def writing(self) -> int:
        """Responses put whose write has not landed yet."""
        return len(self._pending)

    async def get(self, caller: Caller, response_id: str) -> StoredResponse | None:
        pending = self._pending.get((caller, response_id))
        if pending is not None:
            return pending[0]
        return await self._store.get(caller, response_id)

    async def put(self, stored: StoredResponse) -> None:
        if not self._store.keeps:
            return
        key = (stored.caller, stored.id)
        earlier = self._pending.get(key)
        write = self._spawn(self._write(key, stored, earlier[1] if earlier else None))
        self._pending[key] = (stored, write)

    async def _write(
        self, key: tuple[Caller, str], stored: StoredResponse, after: asyncio.Future[Any] | None
    ) -> None:
        try:
            if after is not None:  # the same id again: written in order
                await asyncio.wait({after})
            await self._store.put(stored)
        except Exception:
            log.exception("could not store response %s", stored.id)
        finally:
            pending = self._pending.get(key)
            if pending is not None and pending[0] is stored:
                del self._pending[key]

    async def delete(self, caller: Caller, response_id: str) -> bool:
        pending = self._pending.get((caller, response_id))
        if pending is not None:
            await asyncio.wait({pending[1]})
        return await self._store.delete(caller, response_id)
