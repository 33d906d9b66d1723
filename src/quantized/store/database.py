"""Connections: plain database URLs in, async SQLAlchemy engines out, failures mapped once.

Everything above the store opens connections through :func:`connection` and
:func:`transaction`, the one edge where database failures become domain errors:
an unreachable, silent or failing database is ``ServiceUnavailableError``
(``database_unavailable``, 503), a value the database refuses (out of range,
badly encoded) an ``InvalidRequestError`` (400), a unique-key clash from a race
a ``ConflictError`` (409). Anything else (a bug) propagates as it is.
PostgreSQL connections carry a connect timeout and a statement timeout, so a
database that stops answering fails requests within seconds instead of hanging.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from quantized.errors import (
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    ServiceUnavailableError,
)

log = logging.getLogger("quantized.store")
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    OSError,
    TimeoutError,
)

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str) -> URL:
    """Parse ``sqlite:///path`` or ``postgresql://…`` and choose the async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"invalid database URL {_redact(url)!r}: expected sqlite:///path or postgresql://..."
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigurationError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://"
        )
    if driver.startswith("sqlite") and parsed.database in (None, ""):
        raise ConfigurationError("sqlite URL needs a file path, e.g. sqlite:///quantized.db")
    return parsed.set(drivername=driver)


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def check_location(url: str) -> None:
    """For SQLite, that the file's directory exists: a clear error before any connection
    (the driver's failed connections otherwise leave a worker thread behind)."""
    target = async_url(url)
    if is_sqlite(target) and target.database and target.database != ":memory:":
        directory = Path(target.database).expanduser().resolve().parent
        if not directory.is_dir():
            raise ConfigurationError(
                f"cannot use the database: the directory {directory} does not exist"
            )


def create_engine(
    url: str, *, connect_timeout: float = 5.0, statement_timeout: float = 10.0, **options: Any
) -> AsyncEngine:
    """An async engine for a plain URL, with SQLite set up for concurrent processes."""
    target = async_url(url)
    if is_sqlite(target):
        engine = create_async_engine(target, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        target,
        pool_pre_ping=True,
        pool_timeout=connect_timeout,
        connect_args=postgres_timeouts(connect_timeout, statement_timeout),
        **options,
    )


def postgres_timeouts(connect_timeout: float, statement_timeout: float) -> dict[str, Any]:
    """asyncpg's connect and statement (command) timeouts, in seconds."""
    return {"timeout": connect_timeout, "command_timeout": statement_timeout}


def unavailable() -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "The database is unreachable; try again shortly.", code="database_unavailable"
    )


@contextmanager
def store_errors() -> Iterator[None]:
    """Map database failures into the domain error tree (see the module docstring)."""
    try:
        yield
    except IntegrityError:
        raise ConflictError("This conflicts with a change made at the same time; retry.") from None
    except (DataError, OverflowError) as exc:
        raise refused(exc) from None
    except UNAVAILABLE as exc:
        log.warning("database error: %s", type(exc).__name__)
        raise unavailable() from None
    except DBAPIError as exc:
        if not refused_value(exc):
            raise
        raise refused(exc) from None


def refused_value(exc: DBAPIError) -> bool:
    """Whether the driver or the database refused a value (SQLSTATE class 22, "data
    exception", or asyncpg's own check of an argument), rather than failed."""
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return sqlstate.startswith("22") or isinstance(cause, ValueError | OverflowError)


def refused(exc: Exception) -> InvalidRequestError:
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else ""
    log.warning("the database refused a value: %s", reason[:200])
    return InvalidRequestError("A value is out of range or cannot be stored.", code="invalid_value")


@asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reading."""
    with store_errors():
        async with engine.connect() as conn:
            yield conn


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction, committed when the block ends without an error."""
    with store_errors():
        async with engine.begin() as conn:
            yield conn


def sqlite_connection(path: str) -> sqlite3.Connection:
    """A plain sqlite3 connection, set up like the engine's, for one thread at a time."""
    connection = sqlite3.connect(path, check_same_thread=False)
    _sqlite_pragmas(connection, None)
    return connection


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
