"""Pydantic validation: errors as one line that names the field (``cost.prompt: …``), and
integers written as ``5.0``."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BeforeValidator, ValidationError


def location(loc: Iterable[int | str]) -> str:
    """``("models", 3, "id")`` as ``models[3].id``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """Where the first problem is (``""`` for the whole value) and what it is."""
    error = exc.errors()[0]
    return location(error["loc"]), error["msg"].removeprefix("Value error, ")


def describe(exc: ValidationError, prefix: str = "") -> str:
    where, message = first_problem(exc)
    return f"{prefix}{where}: {message}" if where else f"{prefix}{message}"


def _integral(value: object) -> object:
    """JSON has one kind of number: ``5.0`` is the integer 5 (JSON Schema agrees)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral)
"""For integer fields of strict models: ``Annotated[int, Field(...), INTEGRAL]``."""
