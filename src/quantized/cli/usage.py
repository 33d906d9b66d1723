"""``quantized usage``: spend per day, caller and model."""

from __future__ import annotations

import click
import orjson

from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError
from quantized.services import budgets as budget_admin
from quantized.services.usage import default_range, parse_day, summary


@click.command()
@click.option(
    "--start", metavar="DATE", help="First day (YYYY-MM-DD); default: this month's first."
)
@click.option("--end", metavar="DATE", help="Last day (YYYY-MM-DD); default: today.")
@click.option("--caller", metavar="CALLER", help="Only key:<id> or jwt:<subject>.")
@click.option("--model", metavar="ID", help="Only this model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def usage(
    start: str | None, end: str | None, caller: str | None, model: str | None, as_json: bool
) -> None:
    """Requests, tokens and cost (USD) per day, caller and model."""
    first, last = default_range()
    try:
        window = (parse_day(start, first, "start"), parse_day(end, last, "end"))
        who = budget_admin.parse_subject(caller) if caller is not None else None
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    result = with_database(
        lambda engine: summary(engine, start=window[0], end=window[1], caller=who, model=model)
    )
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    echo_table(
        (
            "DAY",
            "CALLER",
            "MODEL",
            "REQUESTS",
            "PROMPT",
            "CACHED",
            "CACHE WRITE",
            "COMPLETION",
            "COST USD",
        ),
        [
            (
                row["day"],
                f"{row['caller']['kind']}:{row['caller']['id']}",
                row["model"] or "-",
                str(row["requests"]),
                str(row["prompt_tokens"]),
                str(row["cached_tokens"]),
                str(row["cache_write_tokens"]),
                str(row["completion_tokens"]),
                f"{row['cost_usd']:.6f}",
            )
            for row in result["data"]
        ],
    )
    click.echo(f"total {result['total_cost_usd']:.6f} USD, {window[0]} to {window[1]}")
