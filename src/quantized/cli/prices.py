"""``quantized models prices|set-price|cancel-price``: a model's prices over time."""

from __future__ import annotations

import re

import click
import orjson
from pydantic import TypeAdapter, ValidationError

from quantized.catalog.model import Cost
from quantized.catalog.schema import EffectiveFrom
from quantized.cli.common import Failure, with_database
from quantized.cli.table import echo_table, moment
from quantized.services import prices as service
from quantized.services.actors import cli_actor

_INSTANT: TypeAdapter[int] = TypeAdapter(EffectiveFrom)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@click.command("prices")
@click.argument("model_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the admin API answers).")
def prices(model_id: str, as_json: bool) -> None:
    """Every price model ID has had and is scheduled to have, and who set it."""
    found = with_database(lambda engine: service.history(engine, model_id))
    if as_json:
        data = {"object": "list", "model": model_id, "data": [service.price_json(v) for v in found]}
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    echo_table(
        (
            "PRICE",
            "STATUS",
            "FROM",
            "UNTIL",
            "PROMPT",
            "COMPLETION",
            "CACHE READ",
            "CACHE WRITE",
            "SET BY",
            "ACTION",
        ),
        [
            (
                str(v.row.id),
                v.status,
                moment(v.row.effective_from),
                moment(v.until),
                _number(v.row.cost.prompt),
                _number(v.row.cost.completion),
                _number(v.row.cost.input_cache_read),
                _number(v.row.cost.input_cache_write),
                f"{v.row.actor.kind}:{v.row.actor.name}",
                v.row.action,
            )
            for v in found
        ],
    )


def _price(value: float, name: str) -> float:
    if not 0 <= value <= 1_000_000:
        raise Failure(f"{name} must be between 0 and 1000000 (USD per million tokens)")
    return value


@click.command("set-price")
@click.argument("model_id", metavar="ID")
@click.option("--prompt", type=float, required=True, help="USD per million prompt tokens.")
@click.option("--completion", type=float, required=True, help="USD per million output tokens.")
@click.option("--cache-read", type=float, help="Per million cached prompt tokens [the prompt's].")
@click.option("--cache-write", type=float, help="Per million cache-written tokens.")
@click.option(
    "--from",
    "effective_from",
    metavar="WHEN",
    help="When it takes effect, in the future: an RFC 3339 date-time (2026-12-01T00:00:00Z), "
    "a date (midnight UTC) or unix seconds [now].",
)
def set_price(
    model_id: str,
    prompt: float,
    completion: float,
    cache_read: float | None,
    cache_write: float | None,
    effective_from: str | None,
) -> None:
    """Set model ID's price, now or from a later instant (on every instance at once)."""
    cost = Cost(
        _price(prompt, "--prompt"),
        _price(completion, "--completion"),
        prompt if cache_read is None else _price(cache_read, "--cache-read"),
        None if cache_write is None else _price(cache_write, "--cache-write"),
    )
    when: float | None = None
    if effective_from is not None:
        try:
            when = float(_INSTANT.validate_python(_instant(effective_from)))
        except ValidationError:
            raise Failure("--from must be an RFC 3339 date-time, a date or unix seconds") from None
    view = with_database(
        lambda engine: service.set_price(engine, cli_actor(), model_id, cost, when),
        writes=True,
    )
    started = "now" if view.status == "current" else f"from {moment(view.row.effective_from)}"
    click.echo(f"Price {view.row.id} of {model_id} applies {started}.")


def _instant(text: str) -> str | int:
    return int(text) if re.fullmatch(r"[0-9]{1,12}", text) else text


@click.command("cancel-price")
@click.argument("model_id", metavar="ID")
@click.argument("price_id", type=int)
def cancel_price(model_id: str, price_id: int) -> None:
    """Cancel price PRICE_ID of model ID, scheduled and not yet in effect."""
    row = with_database(
        lambda engine: service.cancel(engine, cli_actor(), model_id, price_id), writes=True
    )
    click.echo(f"Cancelled price {row.id} of {model_id} (was due {moment(row.effective_from)}).")
