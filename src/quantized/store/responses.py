"""Stored responses of the Responses API in the database (``store: true``).

A response is kept ``retention`` seconds after it is put; ``get`` and ``delete``
never see it after that. Expired rows are deleted by ``put``, at most once per
``purge_interval`` per process and at most :data:`PURGE_BATCH` rows at a time,
so a backlog (after the retention was shortened) is worked off over several
minutes rather than by one statement that could outlast the statement timeout.
A retention of 0 stores nothing.

Bodies go into ``JSON`` columns (PostgreSQL's ``json``, which keeps the text as
given: ``jsonb`` would refuse the ``\\u0000`` a conversation may hold).
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Insert, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import ServiceUnavailableError
from quantized.gateway.responses.stored import Caller, StoredResponse
from quantized.store.database import connection, transaction
from quantized.store.tables import responses

log = logging.getLogger("quantized.store")
PURGE_BATCH = 1000
_KEY = (responses.c.caller_kind, responses.c.caller_id, responses.c.id)
_REPLACED = ("created_at", "expires_at", "model", "response", "input_items", "context")


def _where(caller: Caller, response_id: str, now: float) -> ColumnElement[bool]:
    kind, caller_id = caller
    return (
        (responses.c.caller_kind == kind)
        & (responses.c.caller_id == caller_id)
        & (responses.c.id == response_id)
        & (responses.c.expires_at > now)
    )


def _upsert(dialect: str, values: dict[str, Any]) -> Insert:
    """An insert that replaces the row of the same caller and id, if there is one.

    The dialect's own insert (PostgreSQL's or SQLite's, both ``ON CONFLICT``), from its
    module, which the engine has loaded by then (not at import: a process loads one).
    """
    statement = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(responses)
    statement = statement.values(values)
    replaced = {name: statement.excluded[name] for name in _REPLACED}
    upsert: Insert = statement.on_conflict_do_update(index_elements=list(_KEY), set_=replaced)
    return upsert


class DatabaseResponses:
    """:class:`~quantized.gateway.responses.stored.ResponseStore` over the app's database.

    ``engine`` is called for the engine at each use, so the store can be made before the
    engine exists (``Runtime.responses``: the runtime's engine, once it runs).
    """

    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        retention: float,
        *,
        purge_interval: float = 60.0,
    ) -> None:
        self._engine = engine
        self.retention = retention
        """Seconds a response is kept; 0: none is."""
        self.purge_interval = purge_interval
        self._purged_at = -math.inf

    @property
    def keeps(self) -> bool:
        """Whether responses put are kept at all (a retention of 0 keeps none)."""
        return self.retention > 0

    async def get(self, caller: Caller, response_id: str) -> StoredResponse | None:
        async with connection(self._engine()) as conn:
            result = await conn.execute(
                select(responses).where(_where(caller, response_id, time.time()))
            )
            row = result.one_or_none()
        if row is None:
            return None
        return StoredResponse(
            id=row.id,
            caller=(row.caller_kind, row.caller_id),
            created_at=row.created_at,
            model=row.model,
            response=row.response,
            input_items=row.input_items,
            context=row.context,
        )

    async def put(self, stored: StoredResponse) -> None:
        """Keep ``stored`` (replacing the caller's response of the same id), then purge
        expired responses if the last purge was ``purge_interval`` ago."""
        if self.keeps:
            values = {
                "caller_kind": stored.caller[0],
                "caller_id": stored.caller[1],
                "id": stored.id,
                "created_at": stored.created_at,
                "expires_at": time.time() + self.retention,
                "model": stored.model,
                "response": stored.response,
                "input_items": stored.input_items,
                "context": stored.context,
            }
            async with transaction(self._engine()) as conn:
                await conn.execute(_upsert(conn.dialect.name, values))
        if time.monotonic() - self._purged_at >= self.purge_interval:
            self._purged_at = time.monotonic()
            try:
                await self.purge()
            except ServiceUnavailableError:  # the response is kept; the next purge will do
                log.warning("stored responses: the purge of expired ones failed")

    async def delete(self, caller: Caller, response_id: str) -> bool:
        async with transaction(self._engine()) as conn:
            result = await conn.execute(
                delete(responses).where(_where(caller, response_id, time.time()))
            )
        return bool(result.rowcount)

    async def purge(self) -> int:
        """Delete up to :data:`PURGE_BATCH` expired responses; how many were deleted."""
        expired = select(*_KEY).where(responses.c.expires_at <= time.time()).limit(PURGE_BATCH)
        async with transaction(self._engine()) as conn:
            result = await conn.execute(delete(responses).where(tuple_(*_KEY).in_(expired)))
        return int(result.rowcount)
