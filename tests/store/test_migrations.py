"""Migrations: the head constant, both backends, idempotence, concurrent starts."""

from __future__ import annotations

import asyncio
import json

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


DAILY_ROW = (
    "INSERT INTO usage_daily (team_id, day, caller_kind, caller_id, person, model, upstream"
    "{extra_column}, requests, errors, prompt_tokens, cached_tokens, cache_write_tokens, "
    "completion_tokens, cost_pusd) VALUES (0, '2026-11-30', 'key', '1', '', 'a/b', ''"
    "{extra_value}, 2, 0, 10, 0, 0, 5, 10)"
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


def test_price_history_starts_from_the_audit_log(database_url: str) -> None:
    """0011 replays each model's recorded price changes (with who made them), then adds the
    current price where the log does not end with it; a downgrade removes it all."""
    audit = (
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, entity, "
        "entity_id, before, after) VALUES (:at, 'cli', 'ops@host', 'ops', :action, 'model', "
        ":model, NULL, :after)"
    )
    logged = [  # a/b: 1 → 2 (a rename in between changes no price); c/d: logged 5, now 6
        (100.0, "model.create", "a/b", {"cost": {"prompt": 1, "completion": 2}}),
        (200.0, "model.update", "a/b", {"name": "x", "cost": {"prompt": 1, "completion": 2}}),
        (
            300.0,
            "model.update",
            "a/b",
            {"cost": {"prompt": 3, "completion": 15, "input_cache_read": 0.3}},
        ),
        (400.0, "model.create", "c/d", {"cost": {"prompt": 5, "completion": 5}}),
    ]

    async def scenario() -> tuple[list[tuple[object, ...]], set[str]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "upgrade", "0010")
                await conn.execute(text(DAILY_ROW.format(extra_column="", extra_value="")))
                await conn.execute(text(MODEL_ROW))  # a/b at 3, 15, 0.3
                await conn.execute(
                    text(
                        MODEL_ROW.replace("'a/b', 'B'", "'c/d', 'D'").replace(
                            "3, 15, 0.3", "6, 6, 6"
                        )
                    )
                )
                for at, action, model, after in logged:
                    await conn.execute(
                        text(audit),
                        {"at": at, "action": action, "model": model, "after": json.dumps(after)},
                    )
                await conn.run_sync(_migrate, "upgrade", "head")
                rows = (
                    await conn.execute(
                        text(
                            "SELECT model, effective_from, prompt, completion, input_cache_read, "
                            "actor_kind, action FROM model_prices "
                            "ORDER BY model, effective_from, id"
                        )
                    )
                ).all()
                # the aggregates count prices apart, from price 0 (none) for older rows
                await conn.execute(
                    text(DAILY_ROW.format(extra_column=", price_id", extra_value=", 7"))
                )
                daily = (
                    await conn.execute(text("SELECT price_id, requests FROM usage_daily"))
                ).all()
                assert sorted(tuple(r) for r in daily) == [(0, 2), (7, 2)]
                await conn.run_sync(_migrate, "downgrade", "0010")
                tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
                merged = (
                    await conn.execute(text("SELECT requests, cost_pusd FROM usage_daily"))
                ).all()
                assert [tuple(r) for r in merged] == [(4, 20)]  # summed back into one
            return [tuple(r) for r in rows], tables
        finally:
            await engine.dispose()

    rows, tables = asyncio.run(scenario())
    assert rows == [
        ("a/b", 100.0, 1, 2, 1, "cli", "model.create"),
        ("a/b", 300.0, 3, 15, 0.3, "cli", "model.update"),
        ("c/d", 400.0, 5, 5, 5, "cli", "model.create"),
        ("c/d", 400.0, 6, 6, 6, "system", "model.update"),  # not before the log's last
    ]
    assert "model_prices" not in tables
