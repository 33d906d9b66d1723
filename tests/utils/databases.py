"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

POSTGRES_ADMIN_URL = os.environ.get(
    "QUANTIZED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_postgres_database() -> str:
    """Create an empty database and return its URL (plain ``postgresql://`` form)."""
    name = f"quantized_test_{uuid.uuid4().hex[:12]}"
    _run(_execute(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@contextlib.contextmanager
def backend_database(kind: str, workdir: Path) -> Iterator[str]:
    """An empty database of ``kind`` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'quantized.db'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    _run(_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def query(url: str, sql: str, *params: object) -> list[dict[str, object]]:
    """Rows of a query on a test database (SQLite file or PostgreSQL), as dicts.

    ``sql`` uses ``?`` placeholders; they become ``$n`` for PostgreSQL.
    """
    if url.startswith("sqlite:///"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(sql, params).fetchall()]
        finally:
            connection.close()
    parts = sql.split("?")
    numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))

    async def run() -> list[dict[str, object]]:
        connection = await asyncpg.connect(url, timeout=5)
        try:
            return [dict(row) for row in await connection.fetch(numbered, *params)]
        finally:
            await connection.close()

    return asyncio.run(run())
