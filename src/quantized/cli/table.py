"""Plain-text tables for listings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import click


def moment(value: float | None, empty: str = "-") -> str:
    if value is None:
        return empty
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (ValueError, OverflowError, OSError):  # beyond the years 1 to 9999
        return f"{value:.0f}"


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in (headers, *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
