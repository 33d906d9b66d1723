"""Creating, changing and removing budgets (shared by the CLI and the admin API).

A budget's scope is ``team:<id>``, ``person:<subject or e-mail>`` or ``key:<id>``
(``jwt:<subject>`` is accepted as another name for ``person:``). The older per-caller
form — a daily and a monthly hard limit set together — is :func:`set_limits`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.auth.principal import Principal
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.store import audit
from quantized.store import budgets as budget_store
from quantized.store import catalog as model_store
from quantized.store import keys as key_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction
from quantized.store.tables import teams
from quantized.usage.budgets import Budget, Budgets
from quantized.usage.cost import PICO, usd_number
from quantized.usage.windows import MAX_ROLLING_DAYS, PERIODS
from quantized.values import ID_DIGITS, LINE_CHARACTER, MAX_ID, MAX_LINE, is_line, parse_id, shown

MAX_USD = Decimal(1_000_000)
"""The largest limit: a million USD, so picodollars fit a 64-bit integer column."""
DEFAULT_THRESHOLDS = (80, 100)
KEY_SUBJECT = f"^(?:{ID_DIGITS})$"
"""A key's id: ASCII digits, no leading zeros, 1 to 2³¹−1 (``key:03`` is refused)."""
JWT_SUBJECT = f"^{LINE_CHARACTER}{{1,{MAX_LINE}}}$"
"""A token's subject: 1 to 200 characters, no control characters."""
CALLER = f"^(?:key:(?:{ID_DIGITS})|jwt:{LINE_CHARACTER}{{1,{MAX_LINE}}})$"
"""``key:ID`` or ``jwt:SUBJECT``, as one pattern (for documents)."""
SCOPE = f"^(?:(?:key|team):(?:{ID_DIGITS})|(?:person|jwt):{LINE_CHARACTER}{{1,{MAX_LINE}}})$"
"""``team:ID``, ``person:NAME``, ``key:ID`` (or ``jwt:SUBJECT``), as one pattern."""


def parse_subject(text: str) -> tuple[str, str]:
    """``key:ID`` or ``jwt:SUBJECT``: a caller, the one rule of the CLI and the admin API."""
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


def parse_scope(text: str, param: str = "scope") -> tuple[str, str]:
    """``team:ID``, ``person:NAME``, ``key:ID`` or ``jwt:SUBJECT`` (a person)."""
    kind, _, scope_id = text.partition(":")
    if kind in ("key", "team") and parse_id(scope_id) is not None:
        return kind, scope_id
    if kind in ("person", "jwt") and scope_id and is_line(scope_id):
        return "person", scope_id
    raise InvalidRequestError(
        f"invalid scope {shown(text, 80)!r}: use team:<team id>, person:<token subject or "
        "e-mail, 1 to 200 characters>, or key:<key id>",
        param=param,
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


def check_thresholds(values: Sequence[int] | None) -> tuple[int, ...]:
    if values is None:
        return DEFAULT_THRESHOLDS
    if len(values) > 10 or any(
        isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000 for v in values
    ):
        raise InvalidRequestError(
            "thresholds must be at most 10 whole percentages between 1 and 1000",
            param="thresholds",
        )
    return tuple(sorted(set(values)))


def check_period(period: str, days: int | None) -> int:
    """The ``days`` a period takes: 1 to 92 for ``rolling``, none for the others."""
    if period not in PERIODS:
        raise InvalidRequestError(f"period must be one of {', '.join(PERIODS)}", param="period")
    if period == "rolling":
        if days is None or isinstance(days, bool) or not 1 <= days <= MAX_ROLLING_DAYS:
            raise InvalidRequestError(
                f"a rolling budget needs days: 1 to {MAX_ROLLING_DAYS}", param="days"
            )
        return days
    if days not in (None, 0):
        raise InvalidRequestError("days applies to rolling budgets only", param="days")
    return 0


def budget_json(budget: Budget) -> dict[str, Any]:
    return {"object": "budget", **budget.public(), "thresholds": list(budget.thresholds)}


def status_json(budget: Budget, state: Budgets, now: float) -> dict[str, Any]:
    """A budget with its current window's spend, as this instance knows it."""
    window, spent, reserved = state.status(budget, now)
    return {
        **budget_json(budget),
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "resets_at": window.resets_at.isoformat(),
        },
        "spent_usd": usd_number(spent),
        "reserved_usd": usd_number(reserved),
        "remaining_usd": usd_number(max(budget.limit_pusd - spent - reserved, 0)),
    }


def _changed(action: str, before: Budget | None, after: Budget | None) -> audit.Change:
    budget = after or before
    assert budget is not None  # noqa: S101 - one of them is given
    return audit.Change(
        action,
        "budget",
        str(budget.id),
        budget_json(before) if before else None,
        budget_json(after) if after else None,
    )


async def _check_scope(
    conn: AsyncConnection, kind: str, scope_id: str, param: str = "scope"
) -> None:
    if kind == "key" and await key_store.get_key(conn, int(scope_id)) is None:
        raise NotFoundError(f"no API key with id {scope_id}", param=param, code="key_not_found")
    if kind == "team":
        found = await conn.execute(teams.select().where(teams.c.id == int(scope_id)))
        if found.one_or_none() is None:
            raise NotFoundError(f"no team with id {scope_id}", param=param, code="team_not_found")


async def _check_model(conn: AsyncConnection, model: str) -> None:
    if model and not await model_store.models_by_id(conn, [model]):
        raise ConflictError(
            f"unknown model {shown(model, 80)!r}: budgets name a model of the catalog by id",
            param="model",
            code="unknown_model",
        )


async def list_budgets(engine: AsyncEngine) -> list[Budget]:
    async with connection(engine) as conn:
        return await budget_store.all_budgets(conn)


async def get_budget(engine: AsyncEngine, budget_id: int) -> Budget:
    async with connection(engine) as conn:
        found = await budget_store.get_budget(conn, budget_id)
    if found is None:
        raise _not_found(budget_id)
    return found


def _not_found(budget_id: int) -> NotFoundError:
    return NotFoundError(f"no budget with id {budget_id}", param="id", code="budget_not_found")


async def create_budget(engine: AsyncEngine, actor: Actor, budget: Budget) -> Budget:
    """Store a new budget (``budget.id`` is ignored); 409 if its scope, model and period
    already have one."""
    async with transaction(engine) as conn:
        await _check_scope(conn, budget.scope_kind, budget.scope_id)
        await _check_model(conn, budget.model)
        if await budget_store.find_budget(
            conn, budget.scope_kind, budget.scope_id, budget.model, budget.period, budget.days
        ):
            raise ConflictError(
                "this scope already has a budget for that model and period: change it instead",
                code="budget_exists",
            )
        stored = await budget_store.insert_budget(conn, budget)
        await audit.record(conn, actor, [_changed("budget.create", None, stored)])
    return stored


async def update_budget(
    engine: AsyncEngine, actor: Actor, budget_id: int, changes: dict[str, Any]
) -> Budget:
    """Change a budget's ``limit_pusd``, ``hard`` or ``thresholds``."""
    async with transaction(engine) as conn:
        before = await budget_store.get_budget(conn, budget_id)
        if before is None:
            raise _not_found(budget_id)
        after = replace(before, **changes)
        if after != before:
            await budget_store.update_budget(conn, after)
            await audit.record(conn, actor, [_changed("budget.update", before, after)])
    return after


async def delete_budget(engine: AsyncEngine, actor: Actor, budget_id: int) -> Budget:
    async with transaction(engine) as conn:
        before = await budget_store.get_budget(conn, budget_id)
        if before is None:
            raise _not_found(budget_id)
        await budget_store.delete_budget(conn, budget_id)
        await audit.record(conn, actor, [_changed("budget.delete", before, None)])
    return before


async def remove_scope_budgets(
    conn: AsyncConnection, kind: str, scope_id: str
) -> list[audit.Change]:
    """Delete every budget of a scope that is going away (in the caller's transaction);
    the audit entries to record."""
    found = await budget_store.budgets_of(conn, kind, scope_id)
    for budget in found:
        await budget_store.delete_budget(conn, budget.id)
    return [_changed("budget.delete", budget, None) for budget in found]


# The per-caller form: a daily and a monthly hard limit, for every model.


def limits_json(kind: str, subject: str, found: Sequence[Budget]) -> dict[str, Any]:
    """``{caller, daily_usd, monthly_usd}`` of a caller's every-model day and month budgets."""
    limits = {b.period: b.limit_pusd for b in found if not b.model and b.period in ("day", "month")}
    return {
        "caller": {"kind": kind, "id": subject},
        "daily_usd": usd_number(limits["day"]) if "day" in limits else None,
        "monthly_usd": usd_number(limits["month"]) if "month" in limits else None,
    }


def _caller_scope(kind: str, subject: str) -> tuple[str, str]:
    kind, subject = parse_subject(f"{kind}:{subject}")
    return ("person" if kind == "jwt" else kind), subject


async def set_limits(
    engine: AsyncEngine,
    actor: Actor,
    kind: str,
    subject: str,
    daily: int | None,
    monthly: int | None,
) -> dict[str, Any]:
    """Set a caller's daily and monthly hard limits (``None`` removes one)."""
    scope_kind, scope_id = _caller_scope(kind, subject)
    async with transaction(engine) as conn:
        await _check_scope(conn, scope_kind, scope_id, "caller")
        changes: list[audit.Change] = []
        for period, limit in (("day", daily), ("month", monthly)):
            before = await budget_store.find_budget(conn, scope_kind, scope_id, "", period, 0)
            if limit is None:
                if before is not None:
                    await budget_store.delete_budget(conn, before.id)
                    changes.append(_changed("budget.delete", before, None))
            elif before is None:
                stored = await budget_store.insert_budget(
                    conn, Budget(0, scope_kind, scope_id, "", period, 0, limit)
                )
                changes.append(_changed("budget.create", None, stored))
            elif before.limit_pusd != limit:
                after = await budget_store.update_budget(conn, replace(before, limit_pusd=limit))
                changes.append(_changed("budget.update", before, after))
        if changes:
            await audit.record(conn, actor, changes)
        found = await budget_store.budgets_of(conn, scope_kind, scope_id)
    return limits_json(kind, subject, found)


async def remove_limits(engine: AsyncEngine, actor: Actor, kind: str, subject: str) -> None:
    """Remove a caller's daily and monthly limits (404 if it has neither)."""
    scope_kind, scope_id = _caller_scope(kind, subject)
    async with transaction(engine) as conn:
        found = [
            b
            for b in await budget_store.budgets_of(conn, scope_kind, scope_id)
            if not b.model and b.period in ("day", "month")
        ]
        if not found:
            raise NotFoundError(
                f"no budget for {kind}:{subject}", param="caller", code="budget_not_found"
            )
        for budget in found:
            await budget_store.delete_budget(conn, budget.id)
        await audit.record(conn, actor, [_changed("budget.delete", b, None) for b in found])


def own_budgets(caller: Principal, state: Budgets) -> tuple[dict[str, Any] | None, list[Any]]:
    """What ``/v1/usage`` shows a caller of its budgets: its own daily and monthly limits
    with this period's spend (``None`` without either), and every budget that applies to
    its requests (its key's, its person's, its team's) with its current window."""
    now = time.time()
    if not caller.scopes:
        return None, []
    mine = [b for b in state.applicable(caller.scopes[:1], "") if b.period in ("day", "month")]
    limits = None
    if mine:
        limits = limits_json(caller.kind, caller.id, mine)
        for period, name in (("day", "spent_today_usd"), ("month", "spent_this_month_usd")):
            window = state.calendar.window(period, 0, now)
            limits[name] = usd_number(state.spent((*caller.scopes[0], ""), window))
    applying = [b for scope in caller.scopes for b in state.of_scope(*scope)]
    return limits, [status_json(b, state, now) for b in applying]
