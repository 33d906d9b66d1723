"""``quantized budgets``: spending limits per caller."""

from __future__ import annotations

import click

from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError
from quantized.services import budgets as budget_admin
from quantized.services.actors import cli_actor


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
