"""``quantized usage``: spend per day, caller and model; ``usage report``: spend reports."""

from __future__ import annotations

import click
import orjson

from quantized.catalog.model import Cost
from quantized.cli.common import Failure, settings, with_database
from quantized.cli.table import echo_table
from quantized.errors import QuantizedError
from quantized.services import budgets as budget_admin
from quantized.services import reports
from quantized.services.reports import Filters
from quantized.services.usage import default_range, parse_day, summary


def _window(start: str | None, end: str | None) -> tuple[str, str]:
    """The days asked for; by default this month so far, in the gateway's time zone."""
    first, last = default_range(zone=settings().zone)
    return parse_day(start, first, "start"), parse_day(end, last, "end")


def _caller(text: str | None) -> tuple[str, str] | None:
    return budget_admin.parse_subject(text) if text is not None else None


@click.group(invoke_without_command=True)
@click.option(
    "--start", metavar="DATE", help="First day (YYYY-MM-DD); default: this month's first."
)
@click.option("--end", metavar="DATE", help="Last day (YYYY-MM-DD); default: today.")
@click.option("--caller", metavar="CALLER", help="Only key:<id> or jwt:<subject>.")
@click.option("--model", metavar="ID", help="Only this model.")
@click.option(
    "--prices",
    "by_price",
    is_flag=True,
    help="A row per price charged too, with that price (from the ledger's rows).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def usage(
    ctx: click.Context,
    start: str | None,
    end: str | None,
    caller: str | None,
    model: str | None,
    by_price: bool,
    as_json: bool,
) -> None:
    """Requests, tokens and cost (USD) per day, caller and model (see also: usage report)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        window = _window(start, end)
        who = _caller(caller)
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    result = with_database(
        lambda engine: summary(
            engine, start=window[0], end=window[1], caller=who, model=model, by_price=by_price
        )
    )
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    priced = ("PRICE", "PER 1M: PROMPT/COMPLETION/CACHE READ/WRITE") if by_price else ()
    echo_table(
        (
            "DAY",
            "CALLER",
            "MODEL",
            *priced,
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
                *(_price_cells(row.get("price")) if by_price else ()),
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


def _price_cells(price: dict[str, object] | None) -> tuple[str, str]:
    if not price or "prompt" not in price:
        return ("-" if not price else str(price["id"])), "-"
    prices = [price[name] for name in Cost.NAMES]
    return str(price["id"]), "/".join("-" if p is None else f"{p:g}" for p in prices)


@usage.command()
@click.option(
    "--start", metavar="DATE", help="First day (YYYY-MM-DD); default: this month's first."
)
@click.option("--end", metavar="DATE", help="Last day (YYYY-MM-DD); default: today.")
@click.option(
    "--group-by",
    metavar="DIMENSIONS",
    default="team",
    show_default=True,
    help="Comma-separated: team, person, key (the caller), model, upstream, price (the price "
    "charged, from the ledger's rows); '' for none.",
)
@click.option("--period", type=click.Choice(reports.PERIODS), default="total", show_default=True)
@click.option("--team", metavar="NAME", help="Only this team (its name, or its id).")
@click.option("--person", metavar="PERSON", help="Only this person.")
@click.option("--caller", metavar="CALLER", help="Only key:<id> or jwt:<subject>.")
@click.option("--model", metavar="ID", help="Only this model.")
@click.option("--upstream", metavar="URL", help="Only this upstream.")
@click.option(
    "--limit", type=click.IntRange(1, reports.MAX_ROWS), default=10_000, show_default=True
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a header row, exact costs).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def report(
    start: str | None,
    end: str | None,
    group_by: str,
    period: str,
    team: str | None,
    person: str | None,
    caller: str | None,
    model: str | None,
    upstream: str | None,
    limit: int,
    as_csv: bool,
    as_json: bool,
) -> None:
    """Spend by team, person, key, model and upstream, per day, week (ISO, from Monday)
    or month, in the gateway's time zone (QUANTIZED_TIMEZONE). Costs are exact."""
    if as_csv and as_json:
        raise Failure("--csv and --json exclude each other")
    try:
        window = _window(start, end)
        filters = Filters(
            team=team, person=person, caller=_caller(caller), model=model, upstream=upstream
        )
        groups = reports.parse_group_by(group_by)
    except QuantizedError as exc:
        raise Failure(exc.message) from None
    zone = settings().timezone
    found = with_database(
        lambda engine: reports.spend_report(
            engine,
            start=window[0],
            end=window[1],
            group_by=groups,
            period=period,
            filters=filters,
            limit=limit,
            timezone=zone,
        )
    )
    if as_csv:
        click.echo(reports.to_csv(found), nl=False)
        return
    if as_json:
        click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    columns = reports.csv_columns(found)
    echo_table(
        [column.upper().replace("_", " ") for column in columns],
        [
            [cells.get(column) or "-" for column in columns]
            for cells in (reports.csv_cells(row, spreadsheet=False) for row in found["data"])
        ],
    )
    total = found["total"]
    click.echo(
        f"total {total['cost_usd_exact']} USD, {total['requests']} requests, "
        f"{found['start']} to {found['end']} ({found['timezone']})"
        + (f"; more rows than --limit {limit}" if found["has_more"] else "")
    )
