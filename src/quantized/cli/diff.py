"""``quantized models diff|check|pin|unpin``: what an import would do, price drift, pins.

The reports come from :mod:`quantized.catalog.diff`; this module reads the source file
and shows them: aligned, coloured when stdout is a terminal (``click.echo`` drops the
colours otherwise), or as JSON (``--json``, the admin API's dry-run answer).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from quantized.catalog.aliases import Clash
from quantized.catalog.diff import (
    MISSING,
    PRICES,
    ModelDiff,
    Plan,
    PlanOptions,
    globs,
    pinnable,
    preview_json,
    relative,
)
from quantized.catalog.drift import DriftReport, drift, drift_json
from quantized.catalog.importers import (
    DEFAULT_BEDROCK_REGION,
    FORMATS,
    WITH_OPTIONS,
    Imported,
    ImportOptions,
    parse_foreign,
)
from quantized.cli.common import Failure, with_database
from quantized.errors import InvalidRequestError, QuantizedError
from quantized.services.actors import cli_actor
from quantized.services.catalog import pin_fields, preview_import, stored_models, unpin_fields

F = TypeVar("F", bound=Callable[..., Any])
_WIDEST = 60


def _checked(check: Callable[[Sequence[str], str], tuple[str, ...]], name: str) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
        if not value:
            return ()
        try:
            return check(value, name)
        except InvalidRequestError as exc:
            raise click.BadParameter(exc.message.removeprefix(f"{name}: ")) from None

    return callback


_SOURCE = (
    click.option(
        "--format",
        "format_",
        type=click.Choice(sorted(FORMATS)),
        default="quantized",
        show_default=True,
        help="quantized (our YAML/JSON), openrouter (GET /api/v1/models JSON) or litellm "
        "(model_prices_and_context_window.json).",
    ),
    click.option(
        "--azure-endpoint",
        metavar="URL",
        help="litellm: the Azure OpenAI resource (https://NAME.openai.azure.com) that serves "
        "Azure's entries, each model by a deployment of its name (without it: no upstream).",
    ),
    click.option(
        "--azure-api-version",
        metavar="VERSION",
        help="litellm: the resource's api-version, such as 2024-10-21 (not needed for an "
        "endpoint ending in /openai/v1).",
    ),
    click.option(
        "--bedrock-region",
        metavar="REGION",
        help=f"litellm: the AWS region of Bedrock entries whose key names none "
        f"[default: {DEFAULT_BEDROCK_REGION}].",
    ),
)
_MODELS = click.option(
    "--models",
    "models_",
    multiple=True,
    metavar="GLOB",
    callback=_checked(globs, "models"),
    help="Only models whose id matches (such as 'openai/*'; repeat or comma-separate).",
)
_LIMITS = (
    click.option(
        "--only",
        multiple=True,
        metavar="FIELD",
        callback=_checked(pinnable, "only"),
        help="Only these fields of stored models change (such as cost, or cost.prompt,"
        "context_length; repeat or comma-separate); models not stored yet are skipped.",
    ),
    _MODELS,
    click.option(
        "--missing",
        type=click.Choice(MISSING),
        default="keep",
        show_default=True,
        help="What becomes of stored models (of --models) the source does not list.",
    ),
)


def source_options(command: F) -> F:
    """``--format`` and the LiteLLM cloud options."""
    for option in reversed(_SOURCE):
        command = option(command)
    return command


def limit_options(command: F) -> F:
    """``--only``, ``--models`` and ``--missing``."""
    for option in reversed(_LIMITS):
        command = option(command)
    return command


def read_source(
    file: Path,
    format_: str,
    azure_endpoint: str | None,
    azure_api_version: str | None,
    bedrock_region: str | None,
    *,
    now: int,
) -> Imported:
    """The models of ``file`` in ``format_`` as of ``now``; every problem is one ``Failure``
    line."""
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
        return parse_foreign(format_, text, now=now, options=options)
    except QuantizedError as exc:
        raise Failure(f"{file}: {exc.message}") from None


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:.10g}"
    elif isinstance(value, int | str):
        text = " ".join(str(value).split())
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= _WIDEST else text[: _WIDEST - 1] + "…"


def _percent(change: float | None) -> str:
    return "n/a" if change is None else f"{change * 100:+.3g}%"


def _rows(diff: ModelDiff) -> list[tuple[str, str, str, str]]:
    return [
        (
            name,
            _value(c.old),
            _value(c.new),
            _percent(relative(c.old, c.new)) if name in PRICES else "",
        )
        for name, c in diff.fields.items()
    ]


def _echo_fields(title: str, diffs: Sequence[ModelDiff], mark: str, colour: str) -> None:
    if not diffs:
        return
    click.echo(click.style(f"{title} ({len(diffs)})", fg=colour, bold=True))
    every = [row for d in diffs for row in _rows(d)]
    wide = [max(len(row[i]) for row in every) for i in range(2)]
    pinned = mark == "="
    for diff in diffs:
        click.echo(click.style(f"  {mark} {diff.id}", fg=colour))
        for name, old, new, change in _rows(diff):
            after = f"kept; source: {new}" if pinned else f"→  {new}"
            line = f"{name.ljust(wide[0])}  {old.ljust(wide[1])}  {after}"
            line += f" ({change})" if change else ""
            click.echo(click.style(f"      {line}", dim=pinned))


def echo_preview(plan: Plan, dropped: Iterable[Clash], source: str) -> None:
    """The plan as aligned sections: added, changed, pinned, removed, skipped, unchanged."""
    if plan.added:
        click.echo(click.style(f"added ({len(plan.added)})", fg="green", bold=True))
        for model_id in plan.added:
            click.echo(click.style(f"  + {model_id}", fg="green"))
    _echo_fields("changed", plan.changed, "~", "yellow")
    _echo_fields("pinned: kept as stored", plan.pinned, "=", "cyan")
    if plan.removed:
        click.echo(
            click.style(f"removed ({len(plan.removed)}): not in the source", fg="red", bold=True)
        )
        wide = max(len(r.id) for r in plan.removed)
        status = max(len(r.status) for r in plan.removed)
        for r in plan.removed:
            note = f" ({r.note})" if r.note else ""
            line = f"  - {r.id.ljust(wide)}  {r.status.ljust(status)}  {r.action}{note}"
            click.echo(click.style(line, fg="red"))
    lines = [f"{s.name}: {s.reason}" for s in plan.skipped]
    lines += [f"alias {c.alias}: {c.describe()}" for c in dropped]
    if lines:
        click.echo(click.style(f"skipped ({len(lines)})", bold=True))
        for line in lines:
            click.echo(click.style(f"  ! {line}", dim=True))
    if plan.unchanged:
        click.echo(click.style(f"unchanged ({len(plan.unchanged)})", dim=True))
    acting = {a: sum(r.action == a for r in plan.removed) for a in MISSING}
    click.echo(
        f"{source}: {len(plan.added)} to add, {len(plan.changed)} to change, "
        f"{len(plan.removed)} not in the source ({acting['deprecate']} to deprecate, "
        f"{acting['delete']} to delete, {acting['keep']} to keep), {len(plan.pinned)} with "
        f"pinned fields kept, {len(lines)} skipped, {len(plan.unchanged)} unchanged. "
        "Nothing was written."
    )


@click.command("diff")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@source_options
@limit_options
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (the API's dry run).")
def diff(
    file: Path,
    format_: str,
    azure_endpoint: str | None,
    azure_api_version: str | None,
    bedrock_region: str | None,
    only: tuple[str, ...],
    models_: tuple[str, ...],
    missing: str,
    as_json: bool,
) -> None:
    """Show what importing FILE would do, model by model and field by field; write nothing."""
    now = int(time.time())
    parsed = read_source(file, format_, azure_endpoint, azure_api_version, bedrock_region, now=now)
    preview = with_database(
        lambda engine: preview_import(
            engine,
            parsed.models,
            drop_clashing=format_ != "quantized",
            options=PlanOptions(only, models_, missing),
            skipped=parsed.skipped,
            parsed_at=now,
        )
    )
    dropped = (*parsed.dropped_aliases, *preview.dropped_aliases)
    if as_json:
        report = preview_json(preview.plan, format=format_, dropped=dropped)
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    echo_preview(preview.plan, dropped, str(file))


def echo_drift(report: DriftReport) -> None:
    headers = ("MODEL", "FIELD", "STORED", "SOURCE", "CHANGE", "STATUS", "NOTE")
    rows = [
        (
            d.model,
            d.field,
            _value(d.stored),
            _value(d.source),
            _percent(d.relative),
            "pinned" if d.pinned else "drift" if d.beyond else "within",
            _value(d.note) if d.note else "",
        )
        for d in report.drifts
    ]
    if rows:
        wide = [max(len(r[i]) for r in (headers, *rows)) for i in range(len(headers))]
        click.echo("  ".join(h.ljust(w) for h, w in zip(headers, wide, strict=True)).rstrip())
        for row, found in zip(rows, report.drifts, strict=True):
            line = "  ".join(c.ljust(w) for c, w in zip(row, wide, strict=True)).rstrip()
            colour = "cyan" if found.pinned else "red" if found.beyond else None
            click.echo(click.style(line, fg=colour, dim=not found.beyond and not found.pinned))
    pinned = sum(d.pinned for d in report.drifts)
    within = len(report.drifts) - pinned - len(report.beyond)
    beyond = len(report.beyond)
    click.echo(
        f"{report.compared} model{'s' * (report.compared != 1)} compared, {beyond} "
        f"drift{'s' * (beyond != 1)} beyond tolerance {report.tolerance:g} ({pinned} pinned, "
        f"{within} within tolerance)."
    )


class _CheckFailure(Failure):
    exit_code = 2


@click.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@source_options
@_MODELS
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, max=1_000_000),
    default=0.0,
    show_default=True,
    help="The relative difference a price may have (0.01: 1%).",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    file: Path,
    format_: str,
    azure_endpoint: str | None,
    azure_api_version: str | None,
    bedrock_region: str | None,
    models_: tuple[str, ...],
    tolerance: float,
    as_json: bool,
) -> None:
    """Compare the stored prices with FILE's; exit 1 if one differs beyond the tolerance.

    Pinned prices are reported, never a failure. Exit 0: no drift beyond the tolerance;
    1: drift; 2: a usage, file or database problem.
    """
    try:
        parsed = read_source(
            file,
            format_,
            azure_endpoint,
            azure_api_version,
            bedrock_region,
            now=int(time.time()),
        )
        stored = with_database(stored_models)
    except Failure as exc:  # exit 1 means drift
        raise _CheckFailure(exc.message) from None
    if not math.isfinite(tolerance):
        raise _CheckFailure("--tolerance must be a number such as 0.01")
    report = drift(stored, parsed.models, models=models_, tolerance=tolerance)
    if report.compared == 0:  # a wrong file or glob must not pass a scheduled check
        raise _CheckFailure(f"no model of {file} is in the catalog (within --models)")
    if as_json:
        click.echo(json.dumps(drift_json(report), indent=2, ensure_ascii=False))
    else:
        echo_drift(report)
    ctx.exit(1 if report.failed else 0)


_FIELDS = click.argument(
    "fields", nargs=-1, required=True, metavar="FIELD...", callback=_checked(pinnable, "FIELD")
)


def _echo_pins(model_id: str, pinned: Sequence[str]) -> None:
    click.echo(f"{model_id} pinned: {', '.join(pinned) or 'nothing'}")


@click.command("pin")
@click.argument("model_id", metavar="ID")
@_FIELDS
def pin(model_id: str, fields: tuple[str, ...]) -> None:
    """Pin FIELDs of model ID: imports never change them (cost pins every price)."""
    model = with_database(
        lambda engine: pin_fields(engine, cli_actor(), model_id, fields), writes=True
    )
    _echo_pins(model.id, model.pinned)


@click.command("unpin")
@click.argument("model_id", metavar="ID")
@_FIELDS
def unpin(model_id: str, fields: tuple[str, ...]) -> None:
    """Unpin FIELDs of model ID, so that imports may change them again."""
    model = with_database(
        lambda engine: unpin_fields(engine, cli_actor(), model_id, fields), writes=True
    )
    _echo_pins(model.id, model.pinned)
