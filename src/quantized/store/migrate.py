"""Bring a database to the current schema.

Checking costs one query; Alembic is imported only when there is something to do.
On PostgreSQL an advisory lock makes concurrent starts of several instances safe.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD_REVISION = "0011"
"""The newest migration; ``tests/store`` checks it against Alembic's own view."""

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x5175616E74  # "Quant"


async def current_revision(engine: AsyncEngine) -> str | None:
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()
    except DBAPIError:
        return None


async def upgrade(engine: AsyncEngine) -> bool:
    """Apply pending migrations; return whether anything was applied."""
    if await current_revision(engine) == HEAD_REVISION:
        return False
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        await conn.run_sync(_upgrade)
    return True


def alembic_config(connection: Connection | None = None) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")  # type: ignore[arg-type]
