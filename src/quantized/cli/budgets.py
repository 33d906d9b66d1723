"""``quantized budgets``: spending limits of teams, people and keys."""

from __future__ import annotations

import json

import click

from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError
from quantized.services import budgets as budget_admin
from quantized.services.actors import cli_actor
from quantized.usage.budgets import Budget
from quantized.usage.windows import PERIODS


@click.group()
def budgets() -> None:
    """Spending limits of teams (team:ID), people (person:NAME) and keys (key:ID)."""


def _usd(value: object) -> str:
    return "-" if value is None else f"{value}"


@budgets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List budgets."""
    found = with_database(budget_admin.list_budgets)
    if as_json:
        click.echo(json.dumps([budget_admin.budget_json(b) for b in found], indent=2))
        return
    echo_table(
        ("ID", "SCOPE", "MODEL", "PERIOD", "LIMIT USD", "KIND", "ALERTS AT %"),
        [
            (
                str(b.id),
                f"{b.scope_kind}:{b.scope_id}",
                b.model or "*",
                b.period if b.period != "rolling" else f"rolling {b.days}d",
                _usd(budget_admin.budget_json(b)["limit_usd"]),
                "hard" if b.hard else "soft",
                ",".join(map(str, b.thresholds)) or "-",
            )
            for b in found
        ],
    )


@budgets.command("add")
@click.argument("scope")
@click.option("--period", type=click.Choice(PERIODS), required=True, help="The window.")
@click.option("--days", type=int, help="A rolling window's days.")
@click.option("--limit", "limit", metavar="USD", required=True, help="The limit in USD.")
@click.option("--model", help="Only this model (by id); every model when left out.")
@click.option("--soft", is_flag=True, help="Alert only, never refuse.")
@click.option("--alert", "alerts", type=int, multiple=True, help="Alert at this % (repeat).")
def add(
    scope: str,
    period: str,
    days: int | None,
    limit: str,
    model: str | None,
    soft: bool,
    alerts: tuple[int, ...],
) -> None:
    """Add a budget to SCOPE (team:ID, person:NAME or key:ID)."""
    try:
        kind, scope_id = budget_admin.parse_scope(scope)
        amount = budget_admin.to_limit(limit, "--limit")
        assert amount is not None  # noqa: S101 - required option
        new = Budget(
            id=0,
            scope_kind=kind,
            scope_id=scope_id,
            model=model or "",
            period=period,
            days=budget_admin.check_period(period, days),
            limit_pusd=amount,
            hard=not soft,
            thresholds=budget_admin.check_thresholds(list(alerts) if alerts else None),
        )
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    stored = with_database(
        lambda engine: budget_admin.create_budget(engine, cli_actor(), new), writes=True
    )
    click.echo(f"Added budget {stored.id}: {stored.describe()}, {limit} USD.")


@budgets.command("update")
@click.argument("budget_id", type=int)
@click.option("--limit", "limit", metavar="USD", help="The new limit in USD.")
@click.option("--hard/--soft", default=None, help="Refuse over the limit, or alert only.")
@click.option("--alert", "alerts", type=int, multiple=True, help="Alert at this % (repeat).")
def update(budget_id: int, limit: str | None, hard: bool | None, alerts: tuple[int, ...]) -> None:
    """Change budget BUDGET_ID."""
    changes: dict[str, object] = {}
    try:
        if limit is not None:
            changes["limit_pusd"] = budget_admin.to_limit(limit, "--limit")
        if hard is not None:
            changes["hard"] = hard
        if alerts:
            changes["thresholds"] = budget_admin.check_thresholds(list(alerts))
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    updated = with_database(
        lambda engine: budget_admin.update_budget(engine, cli_actor(), budget_id, changes),
        writes=True,
    )
    click.echo(f"Budget {updated.id}: {updated.describe()}.")


@budgets.command("delete")
@click.argument("budget_id", type=int)
def delete(budget_id: int) -> None:
    """Remove budget BUDGET_ID."""
    removed = with_database(
        lambda engine: budget_admin.delete_budget(engine, cli_actor(), budget_id), writes=True
    )
    click.echo(f"Removed budget {removed.id} ({removed.describe()}).")


@budgets.command("set")
@click.argument("caller")
@click.option("--daily", metavar="USD", help="Limit per day.")
@click.option("--monthly", metavar="USD", help="Limit per month.")
def set_(caller: str, daily: str | None, monthly: str | None) -> None:
    """Set CALLER's (key:ID or jwt:SUBJECT) daily and monthly hard limits, for every model
    (a limit not given is removed)."""
    try:
        kind, subject = budget_admin.parse_subject(caller)
        limits = (
            budget_admin.to_limit(daily, "--daily"),
            budget_admin.to_limit(monthly, "--monthly"),
        )
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    shown = with_database(
        lambda engine: budget_admin.set_limits(engine, cli_actor(), kind, subject, *limits),
        writes=True,
    )
    click.echo(
        f"Budget for {caller}: daily {_usd(shown['daily_usd'])} USD, "
        f"monthly {_usd(shown['monthly_usd'])} USD."
    )


@budgets.command("remove")
@click.argument("caller")
def remove(caller: str) -> None:
    """Remove CALLER's daily and monthly limits."""
    try:
        kind, subject = budget_admin.parse_subject(caller)
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    with_database(
        lambda engine: budget_admin.remove_limits(engine, cli_actor(), kind, subject), writes=True
    )
    click.echo(f"Removed the budget of {caller}.")
