"""The store's one edge: database failures become domain errors, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from quantized.errors import ConflictError, InvalidRequestError, ServiceUnavailableError
from quantized.services.bootstrap import prepare
from quantized.store import keys as key_store
from quantized.store.database import connection, create_engine, transaction
from tests.utils.databases import create_postgres_database, drop_postgres_database
from tests.utils.processes import free_port


def run(work: object) -> None:
    asyncio.run(work)  # type: ignore[arg-type]


def test_a_unique_clash_is_a_conflict(database_url: str) -> None:
    async def work() -> None:
        engine = create_engine(database_url)
        try:
            await prepare(engine)
            for _ in range(2):
                async with transaction(engine) as conn:
                    await key_store.insert_key(
                        conn,
                        name="twin",
                        prefix="p",
                        digest=b"d" * 32,
                        models=None,
                        is_admin=False,
                        created_at=0.0,
                        expires_at=None,
                    )
        finally:
            await engine.dispose()

    with pytest.raises(ConflictError):
        run(work())


def test_a_value_the_column_cannot_hold_is_a_400_on_postgresql(database_url: str) -> None:
    async def work() -> None:
        engine = create_engine(database_url)
        try:
            await prepare(engine)
            async with connection(engine) as conn:
                await key_store.get_key(conn, 2**40)  # int4 on PostgreSQL
        finally:
            await engine.dispose()

    if database_url.startswith("sqlite"):
        run(work())  # SQLite integers are 64-bit: simply no such key
        return
    with pytest.raises(InvalidRequestError) as caught:
        run(work())
    assert caught.value.code == "invalid_value"


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_an_unreachable_database_is_503(kind: str, tmp_path: object) -> None:
    url = (
        f"postgresql://postgres@127.0.0.1:{free_port()}/x"
        if kind == "postgresql"
        else "sqlite:////nonexistent-directory/q.db"
    )

    async def work() -> None:
        engine = create_engine(url, connect_timeout=2)
        try:
            async with connection(engine) as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    with pytest.raises(ServiceUnavailableError) as caught:
        run(work())
    assert caught.value.code == "database_unavailable"


def test_a_bug_in_sql_is_not_called_an_outage() -> None:
    """On PostgreSQL, that is (SQLite reports SQL errors and outages alike as OperationalError)."""
    database_url = create_postgres_database()

    async def work() -> None:
        engine = create_engine(database_url)
        try:
            async with connection(engine) as conn:
                await conn.execute(text("SELECT nosuchcolumn FROM nosuchtable"))
        finally:
            await engine.dispose()

    try:
        with pytest.raises(ProgrammingError):
            run(work())
    finally:
        drop_postgres_database(database_url)
