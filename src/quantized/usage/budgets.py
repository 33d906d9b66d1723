"""Budgets: spending limits per caller, per UTC day and month — every rule in one place.

A request is refused (429, ``budget_exceeded``) when the caller's spend in the
current period has reached the limit; the request that crosses the limit is
served and charged in full, so overspend is bounded by the requests already in
flight. Spend is what the ledger holds (refreshed from the database at each
synchronisation, so other processes' spending counts) plus what this process
recorded and has not written yet, or what the instances counted together in
Redis when that is larger. Only callers with a budget are counted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from quantized.errors import RateLimitError
from quantized.usage.cost import from_pico
from quantized.usage.ledger import UsageRecord


@dataclass(frozen=True, slots=True)
class Budget:
    subject_kind: str
    subject_id: str
    daily_pusd: int | None
    monthly_pusd: int | None

    @property
    def subject(self) -> tuple[str, str]:
        return self.subject_kind, self.subject_id


def day_of(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d")


class Today:
    """``day_of`` for a stream of current times, formatting a date once a day."""

    __slots__ = ("_day", "_until")

    def __init__(self) -> None:
        self._day = ""
        self._until = 0.0

    def of(self, moment: float) -> str:
        if moment >= self._until or moment < self._until - 86400:
            self._day = day_of(moment)
            day = dt.datetime.fromtimestamp(moment, dt.UTC).date()
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
            self._until = start + 86400
        return self._day


def month_start(moment: float) -> float:
    now = dt.datetime.fromtimestamp(moment, dt.UTC)
    return dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC).timestamp()


def _resets(moment: float) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.fromtimestamp(moment, dt.UTC)
    tomorrow = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return tomorrow, dt.datetime(year, month, 1, tzinfo=dt.UTC)


def _usd(amount: int) -> str:
    """Dollars with cents, and up to six decimals when they matter: $5.00, $0.0012."""
    text = f"{from_pico(amount).quantize(Decimal('0.000001')):,f}"
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


class SharedCounters(Protocol):
    """Spend counted by every instance together (Redis): ``quantized.coordination.spend``."""

    async def spent(self, kind: str, subject: str, day: str) -> tuple[int, int] | None: ...

    async def charge(self, kind: str, subject: str, day: str, amount: int) -> None: ...


Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class Budgets:
    """Budgets and spend, per caller, in picodollars."""

    def __init__(self) -> None:
        self.shared: SharedCounters | None = None
        self._spawn: Spawn | None = None
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._written: dict[tuple[str, str], dict[str, int]] = {}
        self._unwritten: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self.counting = asyncio.Lock()
        """Held while the database's spend is read (:meth:`set_written`) and while records
        are written and moved there (:meth:`written`): a record committed but not yet moved
        would otherwise be counted twice — in the database's spend and as unwritten — and
        refuse a caller under budget until the next read."""

    def set_budgets(self, budgets: Iterable[Budget]) -> None:
        self._budgets = {b.subject: b for b in budgets}

    def share(self, counters: SharedCounters, spawn: Spawn) -> None:
        """Count with the other instances too; ``spawn`` runs a charge in the background."""
        self.shared, self._spawn = counters, spawn

    def budget(self, kind: str, subject: str) -> Budget | None:
        return self._budgets.get((kind, subject))

    async def admit(self, kind: str, subject: str, now: float, day: str) -> None:
        """Refuse a request whose caller has spent a budget (429), before anything is sent."""
        if (kind, subject) not in self._budgets:
            return
        shared = await self.shared.spent(kind, subject, day) if self.shared is not None else None
        self.check(kind, subject, now, shared)

    def charge(self, record: UsageRecord) -> asyncio.Future[Any] | None:
        """Count a finished request's cost (here at once, and with the other instances).

        Returns the shared charge under way: a caller that waits for it before ending
        the answer makes the spend visible to every instance before the client can send
        its next request (overspend then stays bounded by the requests in flight).
        """
        self.recorded(record)
        if (
            self.shared is not None
            and self._spawn is not None
            and record.cost_pusd
            and (record.caller_kind, record.caller_id) in self._budgets
        ):
            return self._spawn(
                self.shared.charge(
                    record.caller_kind, record.caller_id, record.day, record.cost_pusd
                )
            )
        return None

    def set_written(self, spend: Iterable[tuple[str, str, str, int]]) -> None:
        """Spend per caller and day as the database holds it (this month)."""
        written: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for kind, subject, day, amount in spend:
            written[(kind, subject)][day] = amount
        self._written = dict(written)

    def recorded(self, record: UsageRecord) -> None:
        """Count a record not yet written (only callers with a budget are counted)."""
        key = (record.caller_kind, record.caller_id)
        if record.cost_pusd and key in self._budgets:
            days = self._unwritten[key]
            days[record.day] = days.get(record.day, 0) + record.cost_pusd

    def written(self, records: Sequence[UsageRecord]) -> None:
        """Records now in the database: count them there (until the next refresh) not here."""
        for record in records:
            key = (record.caller_kind, record.caller_id)
            if not record.cost_pusd or key not in self._budgets:
                continue
            days = self._unwritten.get(key)
            if days is not None and record.day in days:
                days[record.day] -= record.cost_pusd
            self._written.setdefault(key, {})
            self._written[key][record.day] = self._written[key].get(record.day, 0) + (
                record.cost_pusd
            )

    def spent(self, kind: str, subject: str, now: float) -> tuple[int, int]:
        """(today, this month) in picodollars."""
        today, month = day_of(now), day_of(now)[:7]
        total_day = total_month = 0
        for days in (
            self._written.get((kind, subject), {}),
            self._unwritten.get((kind, subject), {}),
        ):
            for day, amount in days.items():
                if day == today:
                    total_day += amount
                if day.startswith(month):
                    total_month += amount
        return total_day, total_month

    def check(
        self, kind: str, subject: str, now: float, shared: tuple[int, int] | None = None
    ) -> None:
        """Refuse a request that would start over a limit (429 ``budget_exceeded``).

        ``shared`` is (today, this month) as all instances counted it, when known.
        """
        budget = self._budgets.get((kind, subject))
        if budget is None:
            return
        today, month = self.spent(kind, subject, now)
        if shared is not None:
            today, month = max(today, shared[0]), max(month, shared[1])
        next_day, next_month = _resets(now)
        for limit, spent, period, reset in (
            (budget.daily_pusd, today, "daily", next_day),
            (budget.monthly_pusd, month, "monthly", next_month),
        ):
            if limit is not None and spent >= limit:
                raise RateLimitError(
                    f"The {period} budget of {_usd(limit)} is spent ({_usd(spent)} used); it "
                    f"resets at {reset.isoformat().replace('+00:00', 'Z')}.",
                    retry_after=reset.timestamp() - now,
                    code="budget_exceeded",
                )
