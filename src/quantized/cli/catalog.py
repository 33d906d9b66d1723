"""``quantized models``: list, import and export the catalog (``diff``, ``check``, ``pin``
and ``unpin``: :mod:`quantized.cli.diff`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from quantized.catalog.diff import PlanOptions
from quantized.catalog.document import dump_catalog
from quantized.catalog.importers import Skipped
from quantized.cli.common import Failure, with_database
from quantized.cli.diff import check, diff, limit_options, pin, read_source, source_options, unpin
from quantized.cli.prices import cancel_price, prices, set_price
from quantized.cli.table import echo_table
from quantized.services.actors import cli_actor
from quantized.services.catalog import import_models, stored_models


@click.group()
def models() -> None:
    """List, import, export and compare the model catalog; pin fields imports keep; prices
    over time."""


@models.command("list")
def list_() -> None:
    """List every stored model with its status and prices (USD per 1M tokens)."""
    found = with_database(stored_models)
    echo_table(
        ("ID", "NAME", "STATUS", "PROMPT", "COMPLETION", "CACHE READ", "CACHE WRITE", "FEATURES"),
        [
            (
                m.id,
                m.name,
                m.status,
                f"{m.cost.prompt:g}",
                f"{m.cost.completion:g}",
                f"{m.cost.input_cache_read:g}",
                "-" if m.cost.input_cache_write is None else f"{m.cost.input_cache_write:g}",
                ",".join(m.supported_features) or "-",
            )
            for m in found
        ],
    )


@models.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@source_options
@limit_options
def import_(
    file: Path,
    format_: str,
    azure_endpoint: str | None,
    azure_api_version: str | None,
    bedrock_region: str | None,
    only: tuple[str, ...],
    models_: tuple[str, ...],
    missing: str,
) -> None:
    """Insert or update the models in FILE; all or nothing (see `quantized models diff`).

    Pinned fields of stored models are kept (`quantized models pin`).
    """
    now = int(time.time())
    parsed = read_source(file, format_, azure_endpoint, azure_api_version, bedrock_region, now=now)
    for reason, names in _by_reason(parsed.unrouted).items():
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        click.echo(f"no upstream for {len(names)} models ({shown}): {reason}", err=True)
    result = with_database(
        lambda engine: import_models(
            engine,
            cli_actor(),
            parsed.models,
            drop_clashing=format_ != "quantized",
            options=PlanOptions(only, models_, missing),
            skipped=parsed.skipped,
            parsed_at=now,
        ),
        writes=True,
    )
    for skipped in result.skipped:
        click.echo(f"skipped {skipped.name}: {skipped.reason}", err=True)
    for clash in (*parsed.dropped_aliases, *result.dropped_aliases):
        click.echo(f"skipped alias: {clash.describe()}", err=True)
    removed = ""
    if result.removed:
        kept = result.removed - result.deprecated - result.deleted
        removed = (
            f" {result.removed} stored models not in the source: {result.deprecated} "
            f"deprecated, {result.deleted} deleted, {kept} kept."
        )
    click.echo(
        f"Imported {len(result.models)} models from {file}: {result.inserted} new, "
        f"{result.updated} updated, {result.unchanged} unchanged, {len(result.skipped)} "
        f"skipped.{removed}"
    )


def _by_reason(entries: list[Skipped]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for entry in entries:
        grouped.setdefault(entry.reason, []).append(entry.name)
    return grouped


@models.command("export")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="File to write."
)
def export(output: Path | None) -> None:
    """Write the stored catalog in the catalog format (to stdout by default)."""
    found = with_database(stored_models)
    text = dump_catalog(found)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"Wrote {len(found)} models to {output}.", err=True)


models.add_command(diff)
models.add_command(check)
models.add_command(pin)
models.add_command(unpin)
models.add_command(prices)
models.add_command(set_price)
models.add_command(cancel_price)
