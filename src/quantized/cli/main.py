"""``quantized``: run the gateway and administer its keys and catalog."""

from __future__ import annotations

import click

from quantized.cli.budgets import budgets
from quantized.cli.catalog import models
from quantized.cli.common import run
from quantized.cli.dashboard import dashboard
from quantized.cli.keys import keys
from quantized.cli.serve import serve
from quantized.cli.teams import teams
from quantized.cli.usage import usage


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="quantized")
def cli() -> None:
    """Quantized: a self-hostable, OpenAI-compatible LLM API gateway.

    Configuration comes from QUANTIZED_* environment variables (and an optional
    .env file); QUANTIZED_DATABASE_URL picks the database (default
    sqlite:///quantized.db in the working directory).
    """


cli.add_command(serve)
cli.add_command(keys)
cli.add_command(teams)
cli.add_command(models)
cli.add_command(usage)
cli.add_command(budgets)
cli.add_command(dashboard)


def main() -> None:
    run(cli, prog_name="quantized")
