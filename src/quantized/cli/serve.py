"""``quantized serve``: prepare the database and run the gateway."""

from __future__ import annotations

import click

from quantized.admin.bootstrap import prepare
from quantized.cli.common import run_async, settings
from quantized.store.database import create_engine


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

    async def get_ready() -> str | None:
        engine = create_engine(config.database_url)
        try:
            return (await prepare(engine, config.catalog_file)).admin_key
        finally:
            await engine.dispose()

    admin_key = run_async(get_ready)
    if admin_key is not None:
        click.echo(_banner(admin_key))

    from quantized.server.run import serve as run_server

    run_server(
        config,
        host=host or config.host,
        port=config.port if port is None else port,
        workers=workers or config.workers,
    )
