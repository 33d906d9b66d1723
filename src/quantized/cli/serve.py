"""``quantized serve``: prepare the database and run the gateway."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

import click

from quantized.cli.common import Failure, run_async, settings
from quantized.errors import QuantizedError
from quantized.settings import Settings
from quantized.store.database import check_location


def _banner(key: str) -> str:
    rule = "=" * 78
    return (
        f"{rule}\n"
        "  Quantized created the first admin API key. It is shown this once:\n\n"
        f"      {key}\n\n"
        "  Store it now: only its SHA-256 digest is kept. Use it as\n"
        "  'Authorization: Bearer <key>', or to create more keys over the admin API.\n"
        f"{rule}"
    )


def _prepare_child(database_url: str, catalog_file: Path | None, channel: Connection) -> None:
    from quantized.services.bootstrap import prepare
    from quantized.store.database import create_engine

    async def work() -> str | None:
        engine = create_engine(database_url)
        try:
            return (await prepare(engine, catalog_file)).admin_key
        finally:
            await engine.dispose()

    try:
        channel.send(("ok", run_async(work)))
    except click.ClickException as exc:
        channel.send(("error", exc.message))
    except Exception as exc:  # report, do not let the child print a traceback
        channel.send(("error", f"could not prepare the database: {type(exc).__name__}"))


def prepare_in_child(database_url: str, catalog_file: Path | None) -> str | None:
    """Migrate, seed and bootstrap in a short-lived forked child.

    The serving process then never loads Alembic or the catalog parser: they are
    needed once, and would otherwise stay resident for the life of the server.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_prepare_child, args=(database_url, catalog_file, sender))
    child.start()
    sender.close()
    try:
        status, value = receiver.recv()
    except EOFError:
        status, value = "error", "could not prepare the database: the preparing process died"
    finally:
        child.join()
    if status != "ok":
        raise Failure(value)
    return value  # type: ignore[no-any-return]


def _check_jwt_issuers(config: Settings) -> None:
    """Fail here, in one line, rather than in the server process with a traceback."""
    try:
        for issuer in config.jwt_issuers():
            if issuer.public_key_file is not None:
                from quantized.auth.jwt.signing_keys import keys_from_file

                keys_from_file(issuer.public_key_file)
    except QuantizedError as exc:
        raise Failure(exc.message) from None


@click.command()
@click.option("--host", help="Address to bind (default 127.0.0.1, or QUANTIZED_HOST).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default 8000, or QUANTIZED_PORT)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Worker processes (default 1, or QUANTIZED_WORKERS).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Apply migrations, load the shipped catalog into an empty database, and serve.

    On the very first start (no keys at all) an admin key is created and printed once.
    """
    config = settings()
    _check_jwt_issuers(config)
    try:
        check_location(config.database_url)
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    admin_key = prepare_in_child(config.database_url, config.catalog_file)
    if admin_key is not None:
        click.echo(_banner(admin_key))

    from quantized.server.run import serve as run_server

    run_server(
        config,
        host=host or config.host,
        port=config.port if port is None else port,
        workers=workers or config.workers,
    )
