"""Setting and clearing spending limits (shared by the CLI and the admin API)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.errors import InvalidRequestError, NotFoundError
from quantized.store import audit
from quantized.store import budgets as budget_store
from quantized.store import keys as key_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction
from quantized.usage.budgets import Budget
from quantized.usage.cost import PICO, usd_number
from quantized.values import ID_DIGITS, LINE_CHARACTER, MAX_ID, MAX_LINE, is_line, parse_id, shown

KINDS = ("key", "jwt")
MAX_USD = Decimal(1_000_000)
"""The largest limit: a million USD, so picodollars fit a 64-bit integer column."""
KEY_SUBJECT = f"^(?:{ID_DIGITS})$"
"""A key's id: ASCII digits, no leading zeros, 1 to 2³¹−1 (``key:03`` is refused)."""
JWT_SUBJECT = f"^{LINE_CHARACTER}{{1,{MAX_LINE}}}$"
"""A token's subject: 1 to 200 characters, no control characters."""
CALLER = f"^(?:key:(?:{ID_DIGITS})|jwt:{LINE_CHARACTER}{{1,{MAX_LINE}}})$"
"""``key:ID`` or ``jwt:SUBJECT``, as one pattern (for documents)."""


def parse_subject(text: str) -> tuple[str, str]:
    """``key:ID`` or ``jwt:SUBJECT``: the one rule of the CLI and the admin API."""
    kind, _, subject = text.partition(":")
    if (kind == "key" and parse_id(subject) is not None) or (
        kind == "jwt" and subject and is_line(subject)
    ):
        return kind, subject
    raise InvalidRequestError(
        f"invalid caller {shown(text, 80)!r}: use key:<key id, 1 to {MAX_ID}, no leading "
        "zeros> or jwt:<subject, 1 to 200 characters, no control characters>",
        param="caller",
    )


def to_limit(value: object, param: str) -> int | None:
    """USD (a number, or ``None`` for no limit) as picodollars."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidRequestError(f"{param} must be a number of USD or null", param=param)
    try:
        usd = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequestError(f"{param} must be a number of USD", param=param) from None
    if not usd.is_finite() or usd < 0 or usd > MAX_USD:
        raise InvalidRequestError(f"{param} must be between 0 and {MAX_USD} USD", param=param)
    return int(usd * PICO)


def budget_json(budget: Budget) -> dict[str, object]:
    return {
        "caller": {"kind": budget.subject_kind, "id": budget.subject_id},
        "daily_usd": usd_number(budget.daily_pusd) if budget.daily_pusd is not None else None,
        "monthly_usd": (
            usd_number(budget.monthly_pusd) if budget.monthly_pusd is not None else None
        ),
    }


async def list_budgets(engine: AsyncEngine) -> list[Budget]:
    async with connection(engine) as conn:
        return sorted(await budget_store.all_budgets(conn), key=lambda b: b.subject)


async def set_budget(
    engine: AsyncEngine,
    actor: Actor,
    kind: str,
    subject: str,
    daily: int | None,
    monthly: int | None,
) -> Budget:
    kind, subject = parse_subject(f"{kind}:{subject}")
    budget = Budget(kind, subject, daily, monthly)
    async with transaction(engine) as conn:
        if kind == "key" and await key_store.get_key(conn, int(subject)) is None:
            raise NotFoundError(
                f"no API key with id {subject}", param="caller", code="key_not_found"
            )
        before = await budget_store.get_budget(conn, kind, subject)
        await budget_store.put_budget(conn, budget)
        await audit.record(
            conn,
            actor,
            [
                audit.Change(
                    "budget.set",
                    "budget",
                    f"{kind}:{subject}",
                    budget_json(before) if before else None,
                    budget_json(budget),
                )
            ],
        )
    return budget


async def remove_budget(engine: AsyncEngine, actor: Actor, kind: str, subject: str) -> None:
    kind, subject = parse_subject(f"{kind}:{subject}")
    async with transaction(engine) as conn:
        before = await budget_store.get_budget(conn, kind, subject)
        if before is None:
            raise NotFoundError(
                f"no budget for {kind}:{subject}", param="caller", code="budget_not_found"
            )
        await budget_store.remove_budget(conn, kind, subject)
        await audit.record(
            conn,
            actor,
            [
                audit.Change(
                    "budget.remove", "budget", f"{kind}:{subject}", budget_json(before), None
                )
            ],
        )
