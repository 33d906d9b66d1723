"""Migrations: the head constant, both backends, idempotence, concurrent starts."""

from __future__ import annotations

import asyncio

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from quantized.services.bootstrap import prepare
from quantized.store import migrate
from quantized.store.database import create_engine


def test_head_constant_matches_alembic() -> None:
    config = migrate.alembic_config()
    assert ScriptDirectory.from_config(config).get_current_head() == migrate.HEAD_REVISION  # type: ignore[arg-type]


def test_upgrade_creates_the_schema_once(database_url: str) -> None:
    async def scenario() -> tuple[bool, bool, set[str], str | None]:
        engine = create_engine(database_url)
        try:
            first = await migrate.upgrade(engine)
            second = await migrate.upgrade(engine)
            async with engine.connect() as conn:
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            return first, second, tables, await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    first, second, tables, revision = asyncio.run(scenario())
    assert (first, second) == (True, False)
    assert {"models", "api_keys", "changes", "alembic_version"} <= tables
    assert revision == migrate.HEAD_REVISION


def test_concurrent_first_starts_prepare_once(database_url: str) -> None:
    async def scenario() -> list[str | None]:
        engines = [create_engine(database_url) for _ in range(3)]
        try:
            if "sqlite" in database_url:  # SQLite: one writer at a time anyway
                results = [await prepare(e) for e in engines]
            else:
                results = list(await asyncio.gather(*(prepare(e) for e in engines)))
            return [r.admin_key for r in results]
        finally:
            for engine in engines:
                await engine.dispose()

    keys = asyncio.run(scenario())
    assert sum(k is not None for k in keys) == 1
