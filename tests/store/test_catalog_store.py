"""Catalog models in the database: what is written is what is read, on both backends,
and rows written before a field existed read as its default."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from alembic import command
from sqlalchemy import Connection, inspect, text

from quantized.catalog.model import GENERATIVE, Cost, Model, Upstream
from quantized.store import catalog as model_store
from quantized.store import migrate
from quantized.store.database import create_engine, transaction

EMBEDDER = Model(
    id="openai/text-embedding-3-small",
    name="Text Embedding 3 Small",
    cost=Cost(prompt=0.02, completion=0, input_cache_read=0.02),
    output_modalities=(),
    endpoints=("embeddings",),
    upstreams=(
        Upstream(
            provider="openai",
            base_url="https://api.openai.com/v1",
            model="text-embedding-3-small",
            api_key_env="OPENAI_API_KEY",
            responses=True,
        ),
        Upstream(provider="openai", base_url="http://127.0.0.1:9/v1", model="small"),
    ),
    created=1_700_000_000,
)
CHATTER = Model(
    id="acme/chat",
    name="Chat",
    cost=Cost(prompt=1, completion=4, input_cache_read=0.25),
    endpoints=("chat", "responses"),
    upstreams=(Upstream(provider="anthropic", base_url="https://api.anthropic.com", model="c"),),
    created=1_700_000_000,
)


def test_endpoints_and_responses_round_trip(database_url: str) -> None:
    async def scenario() -> tuple[list[Model], list[Model]]:
        engine = create_engine(database_url)
        try:
            await migrate.upgrade(engine)
            async with transaction(engine) as conn:
                await model_store.upsert_models(conn, [EMBEDDER, CHATTER])
                first = await model_store.all_models(conn)
                changed = replace(EMBEDDER, endpoints=("embeddings", "chat"))
                await model_store.upsert_models(conn, [changed])
                second = await model_store.models_by_id(conn, [EMBEDDER.id])
            return first, second
        finally:
            await engine.dispose()

    first, second = asyncio.run(scenario())
    assert first == [CHATTER, EMBEDDER]  # sorted by id
    assert first[1].upstreams[0].responses and not first[1].upstreams[1].responses
    assert [m.endpoints for m in second] == [("embeddings", "chat")]  # an update writes them too


OLD_MODEL = (
    "INSERT INTO models (id, name, status, input_modalities, output_modalities,"
    " supported_features, cost_prompt, cost_completion, cost_input_cache_read, created,"
    " upstreams, updated_at) VALUES ('a/b', 'B', 'active', '[\"text\"]', '[\"text\"]', '[]',"
    ' 3, 15, 0.3, 0, \'[{"provider": "openai", "base_url": "https://x.test/v1",'
    ' "model": "b", "api_key_env": null}]\', 0)'
)


def _migrate(connection: Connection, step: str, revision: str) -> None:
    getattr(command, step)(migrate.alembic_config(connection), revision)


def test_rows_from_before_endpoints_read_as_generative(database_url: str) -> None:
    """A model stored before 0007 serves the generative APIs, routes in catalog order, and
    its upstreams (stored without ``responses`` and the routing fields) take the defaults;
    downgrading drops the columns."""

    async def scenario() -> tuple[list[Model], set[str]]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "upgrade", "0006")
                await conn.execute(text(OLD_MODEL))
                await conn.run_sync(_migrate, "upgrade", "head")
                read = await model_store.all_models(conn)
                await conn.run_sync(_migrate, "downgrade", "0006")
                columns = await conn.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("models")}
                )
            return read, columns
        finally:
            await engine.dispose()

    read, columns = asyncio.run(scenario())
    assert [(m.id, m.endpoints) for m in read] == [("a/b", GENERATIVE)]
    assert read[0].upstreams == (Upstream("openai", "https://x.test/v1", "b", None, False),)
    assert "endpoints" not in columns and "routing" not in columns and "aliases" in columns
    assert read[0].routing == "ordered"
