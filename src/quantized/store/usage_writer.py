"""The ledger's writer: batches of usage records into the database, several at once.

A busy event loop turns slowly (tens of milliseconds per turn at saturation), and every
round trip a write makes waits for a turn. So the writers keep their connections and
make as few trips as the database allows:

- PostgreSQL: each write in flight uses a connection of its own, opened once and kept
  (checking one out of a pool with a pre-ping and in again costs trips), apart from the
  engine's pool, which the rest of the server keeps to itself; a batch is a single
  autocommitted statement, so it is committed one trip after the loop sends it.
- SQLite: writes serialise in the database anyway, so one connection in one thread of
  its own does them, each an ``executemany`` and its commit in one hop; batches in flight
  queue in that thread and follow each other without waiting for the loop.

A connection that fails is thrown away; the next batch opens a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from quantized.store.database import postgres_timeouts, sqlite_connection
from quantized.store.usage import insert_asyncpg, insert_sqlite3
from quantized.usage.ledger import RecordsRefused, UsageRecord


class UsageWriter(Protocol):
    async def __call__(self, records: Sequence[UsageRecord]) -> None: ...

    async def close(self) -> None: ...


def usage_writer(
    engine: AsyncEngine, *, connect_timeout: float = 5.0, statement_timeout: float = 10.0
) -> UsageWriter:
    """The writer for the engine's database (close it before disposing of the engine)."""
    if engine.dialect.name == "sqlite":
        return SqliteUsageWriter(engine.url.database or "")
    return PostgresUsageWriter(engine, postgres_timeouts(connect_timeout, statement_timeout))


class PostgresUsageWriter:
    def __init__(self, engine: AsyncEngine, connect_args: dict[str, Any]) -> None:
        # connections of its own: opened when needed, closed when thrown away
        self._engine = create_async_engine(
            engine.url, poolclass=NullPool, connect_args=connect_args
        )
        self._idle: list[tuple[AsyncConnection, Any]] = []  # (SQLAlchemy, asyncpg connection)

    @property
    def connections(self) -> int:
        """Connections kept between batches."""
        return len(self._idle)

    async def __call__(self, records: Sequence[UsageRecord]) -> None:
        conn, driver = self._idle.pop() if self._idle else await self._connect()
        try:
            await insert_asyncpg(driver, records)
        except asyncpg.DataError as exc:  # SQLSTATE class 22: a value it cannot store
            self._idle.append((conn, driver))  # the connection is fine
            raise RecordsRefused(str(exc).splitlines()[0][:200]) from None
        except BaseException:
            await _discard(conn)
            raise
        self._idle.append((conn, driver))

    async def _connect(self) -> tuple[AsyncConnection, Any]:
        conn = await self._engine.connect()
        try:
            raw = await conn.get_raw_connection()
        except BaseException:
            await _discard(conn)
            raise
        return conn, raw.driver_connection

    async def close(self) -> None:
        """Close the kept connections."""
        while self._idle:
            conn, _ = self._idle.pop()
            with contextlib.suppress(Exception):
                await conn.close()
        await self._engine.dispose()


async def _discard(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()


class SqliteUsageWriter:
    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quantized-usage")
        self._connection: sqlite3.Connection | None = None  # used in that thread only

    async def __call__(self, records: Sequence[UsageRecord]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._insert, records)

    def _insert(self, records: Sequence[UsageRecord]) -> None:
        connection = self._connection
        if connection is None:
            connection = self._connection = sqlite_connection(self._path)
        try:
            insert_sqlite3(connection, records)
        except BaseException:
            self._disconnect()
            raise

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    async def close(self) -> None:
        """Close the connection and stop the thread (after the batches queued in it)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._disconnect)
        self._thread.shutdown(wait=False)
