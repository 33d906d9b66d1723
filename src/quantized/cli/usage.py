"""``quantized usage`` and ``quantized budgets``: spend, and spending limits."""

from __future__ import annotations

import click
import orjson

from quantized.admin import budgets as budget_admin
from quantized.admin.actors import cli_actor
from quantized.admin.usage import default_range, parse_day, summary
from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError


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
        ("DAY", "CALLER", "MODEL", "REQUESTS", "PROMPT", "CACHED", "COMPLETION", "COST USD"),
        [
            (
                row["day"],
                f"{row['caller']['kind']}:{row['caller']['id']}",
                row["model"] or "-",
                str(row["requests"]),
                str(row["prompt_tokens"]),
                str(row["cached_tokens"]),
                str(row["completion_tokens"]),
                f"{row['cost_usd']:.6f}",
            )
            for row in result["data"]
        ],
    )
    click.echo(f"total {result['total_cost_usd']:.6f} USD, {window[0]} to {window[1]}")


@click.group()
def budgets() -> None:
    """Spending limits per caller (key:<id> or jwt:<subject>), per UTC day and month."""


@budgets.command("list")
def list_() -> None:
    """List budgets."""
    found = with_database(budget_admin.list_budgets)
    echo_table(
        ("CALLER", "DAILY USD", "MONTHLY USD"),
        [
            (
                f"{b.subject_kind}:{b.subject_id}",
                _usd(budget_admin.budget_json(b)["daily_usd"]),
                _usd(budget_admin.budget_json(b)["monthly_usd"]),
            )
            for b in found
        ],
    )


def _usd(value: object) -> str:
    return "-" if value is None else f"{value}"


@budgets.command("set")
@click.argument("caller")
@click.option("--daily", metavar="USD", help="Limit per UTC day.")
@click.option("--monthly", metavar="USD", help="Limit per UTC month.")
def set_(caller: str, daily: str | None, monthly: str | None) -> None:
    """Set CALLER's limits (a limit not given is removed)."""
    try:
        kind, subject = budget_admin.parse_subject(caller)
        limits = (
            budget_admin.to_limit(daily, "--daily"),
            budget_admin.to_limit(monthly, "--monthly"),
        )
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    budget = with_database(
        lambda engine: budget_admin.set_budget(engine, cli_actor(), kind, subject, *limits),
        writes=True,
    )
    shown = budget_admin.budget_json(budget)
    click.echo(
        f"Budget for {caller}: daily {_usd(shown['daily_usd'])} USD, "
        f"monthly {_usd(shown['monthly_usd'])} USD."
    )


@budgets.command("remove")
@click.argument("caller")
def remove(caller: str) -> None:
    """Remove CALLER's limits."""
    try:
        kind, subject = budget_admin.parse_subject(caller)
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    with_database(
        lambda engine: budget_admin.remove_budget(engine, cli_actor(), kind, subject), writes=True
    )
    click.echo(f"Removed the budget of {caller}.")
