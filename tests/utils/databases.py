"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import asyncio
import os
import uuid

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


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    _run(_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
