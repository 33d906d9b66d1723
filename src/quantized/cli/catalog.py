"""``quantized models``: list, import and export the catalog."""

from __future__ import annotations

import time
from pathlib import Path

import click

from quantized.catalog.document import dump_catalog
from quantized.catalog.importers import (
    DEFAULT_BEDROCK_REGION,
    FORMATS,
    WITH_OPTIONS,
    ImportOptions,
    Skipped,
    parse_foreign,
)
from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError
from quantized.services.actors import cli_actor
from quantized.services.catalog import import_models, stored_models


@click.group()
def models() -> None:
    """List, import and export the model catalog."""


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
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(FORMATS)),
    default="quantized",
    show_default=True,
    help="quantized (our YAML/JSON), openrouter (GET /api/v1/models JSON) or litellm "
    "(model_prices_and_context_window.json).",
)
@click.option(
    "--azure-endpoint",
    metavar="URL",
    help="litellm: the Azure OpenAI resource (https://NAME.openai.azure.com) that serves "
    "Azure's entries, each model by a deployment of its name (without it: no upstream).",
)
@click.option(
    "--azure-api-version",
    metavar="VERSION",
    help="litellm: the resource's api-version, such as 2024-10-21 (not needed for an "
    "endpoint ending in /openai/v1).",
)
@click.option(
    "--bedrock-region",
    metavar="REGION",
    help=f"litellm: the AWS region of Bedrock entries whose key names none "
    f"[default: {DEFAULT_BEDROCK_REGION}].",
)
def import_(
    file: Path,
    format_: str,
    azure_endpoint: str | None,
    azure_api_version: str | None,
    bedrock_region: str | None,
) -> None:
    """Insert or update the models in FILE; all or nothing."""
    try:
        options = ImportOptions(azure_endpoint, azure_api_version, bedrock_region)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    if options.given and format_ not in WITH_OPTIONS:
        raise Failure(
            "--azure-endpoint, --azure-api-version and --bedrock-region are for "
            "--format litellm only"
        )
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise Failure(f"cannot read catalog file {file}: {exc.strerror}") from None
    try:
        parsed = parse_foreign(format_, text, now=int(time.time()), options=options)
    except QuantizedError as exc:
        raise Failure(f"{file}: {exc.message}") from None
    for skipped in parsed.skipped:
        click.echo(f"skipped {skipped.name}: {skipped.reason}", err=True)
    for reason, names in _by_reason(parsed.unrouted).items():
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        click.echo(f"no upstream for {len(names)} models ({shown}): {reason}", err=True)
    foreign = format_ != "quantized"
    result = with_database(
        lambda engine: import_models(engine, cli_actor(), parsed.models, drop_clashing=foreign),
        writes=True,
    )
    for clash in (*parsed.dropped_aliases, *result.dropped_aliases):
        click.echo(f"skipped alias: {clash.describe()}", err=True)
    click.echo(
        f"Imported {len(parsed.models)} models from {file}: {result.inserted} new, "
        f"{result.updated} updated, {len(parsed.skipped)} skipped."
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
