"""Migrations: the head constant, both backends, idempotence, concurrent starts."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

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


USAGE_ROW = (
    "INSERT INTO usage (at, day, caller_kind, caller_id, model, status, stream, prompt_tokens,"
    " cached_tokens, completion_tokens, cost_pusd, latency_ms, estimated, request_id)"
    " VALUES (1, '2026-11-30', 'key', '1', 'a/b', 200, false, 10, 0, 5, 7, 1, false, :id)"
)
MODEL_ROW = (
    "INSERT INTO models (id, name, status, input_modalities, output_modalities,"
    " supported_features, cost_prompt, cost_completion, cost_input_cache_read, created,"
    " upstreams, updated_at) VALUES ('a/b', 'B', 'active', '[]', '[]', '[]', 3, 15, 0.3, 0,"
    " '[]', 0)"
)


def _migrate(connection: Connection, step: str, revision: str) -> None:
    """``alembic upgrade|downgrade <revision>`` on this connection."""
    getattr(command, step)(migrate.alembic_config(connection), revision)


def test_cache_writes_migration_keeps_existing_rows(database_url: str) -> None:
    """Rows written before 0005 read as no cache writes and no cache-write price; rows
    written without the column (an older instance still running) get 0 too."""

    async def scenario() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], set[str]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "upgrade", "0004")
                await conn.execute(text(USAGE_ROW), {"id": "old"})
                await conn.execute(text(MODEL_ROW))
                await conn.run_sync(_migrate, "upgrade", "head")
                await conn.execute(text(USAGE_ROW), {"id": "new"})
                usage = (
                    await conn.execute(
                        text("SELECT request_id, cache_write_tokens FROM usage ORDER BY id")
                    )
                ).all()
                models = (
                    await conn.execute(text("SELECT cost_input_cache_write FROM models"))
                ).all()
                await conn.run_sync(_migrate, "downgrade", "0004")
                columns = await conn.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("usage")}
                )
            return [tuple(r) for r in usage], [tuple(r) for r in models], columns
        finally:
            await engine.dispose()

    usage, models, columns = asyncio.run(scenario())
    assert usage == [("old", 0), ("new", 0)]
    assert models == [(None,)]
    assert "cache_write_tokens" not in columns and "cached_tokens" in columns
