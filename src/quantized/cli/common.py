"""What every command shares: settings, a migrated database, one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import QuantizedError
from quantized.settings import Settings, load_settings
from quantized.store import migrate
from quantized.store.database import create_engine

T = TypeVar("T")


class Failure(click.ClickException):
    """One clear line on stderr and a non-zero exit, never a traceback."""

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def settings() -> Settings:
    try:
        return load_settings()
    except QuantizedError as exc:
        raise Failure(exc.message) from None


def with_database(work: Callable[[AsyncEngine], Awaitable[T]], *, writes: bool = False) -> T:
    """Run ``work`` against the configured database, migrated to the current schema.

    After a write, running instances sharing a Redis are told to look for changes now
    (without Redis they find them at their next poll).
    """
    config = settings()

    async def run() -> T:
        engine = create_engine(config.database_url)
        try:
            await migrate.upgrade(engine)
            result = await work(engine)
        finally:
            await engine.dispose()
        if writes and config.redis_url:
            from quantized.coordination.notices import publish_once

            await publish_once(config.redis_url, config.redis_prefix)
        return result

    return run_async(run)


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await main()

    try:
        return asyncio.run(guarded())
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise Failure(f"cannot use the database: {str(reason).splitlines()[0]}") from None
