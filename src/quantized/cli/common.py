"""What every command shares: settings, a migrated database, one-line errors.

Every failure ends as one ``error: …`` line on stderr and a non-zero exit, never
a traceback: domain errors and database failures where they happen
(:func:`run_async`), usage mistakes and anything unexpected in :func:`run`, the
last resort, which names only the kind of failure (its text could hold a secret,
such as a database URL).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import QuantizedError
from quantized.settings import Settings, load_settings
from quantized.store import migrate
from quantized.store.database import check_location, create_engine

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
    try:
        check_location(config.database_url)
    except QuantizedError as exc:
        raise Failure(exc.message) from None

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


def run(command: click.Command, *, prog_name: str) -> None:
    """Run the command line; every failure is one ``error: …`` line and a non-zero exit."""
    try:
        code = command.main(prog_name=prog_name, standalone_mode=False)
    except click.ClickException as exc:
        hint = " (see --help)" if isinstance(exc, click.UsageError) else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, nothing secret
        click.echo(
            f"error: unexpected failure ({type(exc).__name__}); nothing was shown in case it "
            "held a secret",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
