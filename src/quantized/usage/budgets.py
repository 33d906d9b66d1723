"""Budgets: spending limits for teams, people and keys — every rule in one place.

A budget limits what one scope (a team, a person, or a key) may spend over a window
(a day, a week, a month in the organisation's time zone, or a rolling number of days),
on every model or on one. A hard budget refuses requests (429 ``budget_exceeded``); a
soft one only alerts. Every budget that applies to a request is checked: the key's, its
person's and its team's, for every model and for the requested one.

Concurrent requests cannot overshoot: before a request is sent upstream, its worst case
(see ``gateway.worst_case``) is **reserved** against every applicable budget at once — it
is admitted only if, for each, spent + reserved + its worst case stays within the limit
(and nothing is admitted once a budget is spent, even at no cost). When the answer ends,
the reservation is **settled**: released, and the actual cost counted (nothing on failure).

Spend is counted per scope, model ('' for all) and local day, so every window is an exact
sum of days. It is what the ledger's daily aggregates hold (read at each synchronisation)
plus what this process recorded and has not written yet; with Redis, the instances
reserve and count together (``coordination.spend``), and the larger of the two is used.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from quantized.errors import RateLimitError
from quantized.usage.cost import from_pico, usd_number
from quantized.usage.ledger import UsageRecord
from quantized.usage.windows import Calendar, Window

log = logging.getLogger("quantized.budgets")

SCOPES = ("team", "person", "key")
Counter = tuple[str, str, str]
"""What a budget counts: (scope kind, scope id, model or '' for every model)."""
Scope = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Budget:
    id: int
    scope_kind: str
    """``team``, ``person`` or ``key``."""
    scope_id: str
    """A team's id, a person (token subject or e-mail), or a key's id."""
    model: str
    """One model's id, or '' for every model."""
    period: str
    """``day``, ``week``, ``month`` or ``rolling``."""
    days: int
    """A rolling window's length in days (0 for calendar periods)."""
    limit_pusd: int
    hard: bool = True
    thresholds: tuple[int, ...] = ()
    """Percentages of the limit that raise an alert when spend reaches them."""
    counter: Counter = field(init=False, repr=False, compare=False)
    """(scope kind, scope id, model): what the budget counts."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "counter", (self.scope_kind, self.scope_id, self.model))

    @property
    def scope(self) -> Scope:
        return self.scope_kind, self.scope_id

    def public(self) -> dict[str, Any]:
        """What the API and alerts show of it (amounts in USD)."""
        return {
            "id": self.id,
            "scope": {"kind": self.scope_kind, "id": self.scope_id},
            "model": self.model or None,
            "period": self.period,
            "days": self.days or None,
            "limit_usd": usd_number(self.limit_pusd),
            "hard": self.hard,
        }

    def describe(self) -> str:
        """``the monthly budget of team 3 for openai/gpt-5``, for messages."""
        period = {"day": "daily", "week": "weekly", "month": "monthly"}.get(
            self.period, f"{self.days}-day rolling"
        )
        which = f"for {self.model}" if self.model else "for all models"
        return f"the {period} budget of {self.scope_kind} {self.scope_id} {which}"


def usd(amount: int) -> str:
    """Dollars with cents, and up to six decimals when they matter: $5.00, $0.0012."""
    text = f"{from_pico(amount).quantize(Decimal('0.000001')):,f}"
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


def scopes_of(kind: str, caller: str, team: int | None, person: str | None) -> list[Scope]:
    """The scopes a caller's spending counts against."""
    scopes: list[Scope] = []
    if kind == "key":
        scopes.append(("key", caller))
    if person:
        scopes.append(("person", person))
    if team is not None:
        scopes.append(("team", str(team)))
    return scopes


def scopes_of_record(record: UsageRecord) -> list[Scope]:
    return scopes_of(record.caller_kind, record.caller_id, record.team_id, record.person)


class BudgetExceeded(RateLimitError):
    """A hard budget that applies to the request has no room for it."""

    def __init__(
        self, budget: Budget, window: Window, spent: int, reserved: int, now: float
    ) -> None:
        held = f", {usd(reserved)} reserved by requests in flight" if reserved else ""
        resets = window.resets_at.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"{budget.describe().capitalize()} ({usd(budget.limit_pusd)}) has no room for "
            f"this request: {usd(spent)} spent{held}; it resets at {resets}.",
            retry_after=max(window.resets_at.timestamp() - now, 1.0),
            code="budget_exceeded",
        )
        self.budget = budget


@dataclass(slots=True)
class Reservation:
    """What one admitted request holds against its budgets, until it is settled."""

    request_id: str
    amount: int
    counters: tuple[Counter, ...]
    budgets: tuple[Budget, ...]
    shared: bool = False
    """Held in Redis as well (released there on settlement)."""
    settled: bool = field(default=False)


class SharedSpend(Protocol):
    """Reservations and spend counted by every instance together (Redis): see
    ``quantized.coordination.spend``. ``None`` from a call: Redis is unavailable."""

    async def reserve(
        self,
        reservation: Reservation,
        checks: Sequence[tuple[Budget, Window, int]],
        now: float,
    ) -> tuple[int, int, int] | None:
        """0 and (spent, reserved) if admitted, else the index of the first budget without
        room, with its spend and reservations; ``checks`` are (budget, window, floor)."""

    async def settle(
        self,
        reservation: Reservation,
        counters: Sequence[Counter],
        day: str,
        amount: int,
        watch: Sequence[tuple[Budget, Window]],
    ) -> list[int] | None:
        """Release a reservation and count ``amount``; returns the watched windows' spend."""


class Alerts(Protocol):
    def crossed(
        self, budget: Budget, window: Window, threshold: int, spent: int, now: float
    ) -> None:
        """A budget's spend reached ``threshold`` % of its limit in ``window`` (once)."""


Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class Budgets:
    """Budgets, spend and reservations, in picodollars."""

    def __init__(self, calendar: Calendar | None = None) -> None:
        self.calendar = calendar or Calendar()
        self.shared: SharedSpend | None = None
        self.alerts: Alerts | None = None
        self._spawn: Spawn | None = None
        self._budgets: list[Budget] = []
        self._by_scope: dict[Scope, list[Budget]] = {}
        self._counters: set[Counter] = set()
        self._written: dict[Counter, dict[str, int]] = {}
        self._unwritten: dict[Counter, dict[str, int]] = defaultdict(dict)
        self._reserved: dict[Counter, int] = defaultdict(int)
        self._alerted: set[tuple[int, str, int]] = set()
        self.counting = asyncio.Lock()
        """Held while the database's spend is read (:meth:`set_written`) and while records
        are written and moved there (:meth:`written`): a record committed but not yet moved
        would otherwise be counted twice — in the database's spend and as unwritten."""

    # configuration -------------------------------------------------------------------

    def set_budgets(self, budgets: Iterable[Budget]) -> None:
        self._budgets = sorted(budgets, key=lambda b: b.id)
        by_scope: dict[Scope, list[Budget]] = defaultdict(list)
        for budget in self._budgets:
            by_scope[budget.scope].append(budget)
        self._by_scope = dict(by_scope)
        self._counters = {b.counter for b in self._budgets}

    @property
    def budgets(self) -> list[Budget]:
        return self._budgets

    @property
    def counters(self) -> set[Counter]:
        """What is counted: the (scope, model) of every budget."""
        return self._counters

    def share(self, shared: SharedSpend, spawn: Spawn) -> None:
        """Reserve and count with the other instances too; ``spawn`` runs work in the
        background."""
        self.shared, self._spawn = shared, spawn

    def of_scope(self, kind: str, scope_id: str) -> list[Budget]:
        return self._by_scope.get((kind, scope_id), [])

    def applicable(self, scopes: Sequence[Scope], model: str) -> list[Budget]:
        """The budgets a request for ``model`` by a caller in ``scopes`` counts against."""
        by_scope = self._by_scope
        if not by_scope:
            return []
        found: list[Budget] = []
        for scope in scopes:
            for budget in by_scope.get(scope, ()):
                if not budget.model or budget.model == model:
                    found.append(budget)
        return found

    # spend ---------------------------------------------------------------------------

    def set_written(
        self, spend: Iterable[tuple[str, str, str, str, int]], since_day: str = ""
    ) -> None:
        """Spend per (scope kind, scope id, model, day) as the database's aggregates hold it,
        from ``since_day`` on (the days before are kept as they were)."""
        written: dict[Counter, dict[str, int]] = defaultdict(dict)
        if since_day:
            for counter, days in self._written.items():
                if counter in self._counters:
                    kept = {day: amount for day, amount in days.items() if day < since_day}
                    if kept:
                        written[counter] = kept
        for kind, scope_id, model, day, amount in spend:
            written[(kind, scope_id, model)][day] = amount
        self._written = dict(written)

    def earliest_day(self, now: float) -> str:
        """The first day any budget's current window counts."""
        calendar = self.calendar
        return min(
            (calendar.window(b.period, b.days, now).start.isoformat() for b in self._budgets),
            default=calendar.day(now),
        )

    def _counted(self, record: UsageRecord) -> list[Counter]:
        if not record.cost_pusd or not self._counters:
            return []
        counters = self._counters
        found = []
        for kind, scope_id in scopes_of_record(record):
            for model in ("", record.model):
                if (kind, scope_id, model) in counters:
                    found.append((kind, scope_id, model))
        return found

    def recorded(self, record: UsageRecord) -> None:
        """Count a record not yet written."""
        for counter in self._counted(record):
            days = self._unwritten[counter]
            days[record.day] = days.get(record.day, 0) + record.cost_pusd

    def written(self, records: Sequence[UsageRecord]) -> None:
        """Records now in the database: count them there (until the next refresh) not here."""
        for record in records:
            for counter in self._counted(record):
                days = self._unwritten.get(counter)
                if days is not None and record.day in days:
                    days[record.day] -= record.cost_pusd
                    if not days[record.day]:
                        del days[record.day]
                done = self._written.setdefault(counter, {})
                done[record.day] = done.get(record.day, 0) + record.cost_pusd

    def spent(self, counter: Counter, window: Window) -> int:
        """What this process knows was spent in ``window``."""
        total = 0
        first, last = window.first, window.last
        for days in (self._written.get(counter), self._unwritten.get(counter)):
            if days:  # the days this process counted: about those of the longest window
                for day, amount in days.items():
                    if first <= day <= last:
                        total += amount
        return total

    def reserved(self, counter: Counter) -> int:
        return self._reserved.get(counter, 0)

    def status(self, budget: Budget, now: float) -> tuple[Window, int, int]:
        """(current window, spent, reserved here) of a budget."""
        window = self.calendar.window(budget.period, budget.days, now)
        return window, self.spent(budget.counter, window), self.reserved(budget.counter)

    # admission and settlement --------------------------------------------------------

    def hard(self, scopes: Sequence[Scope], model: str) -> list[Budget]:
        """The hard budgets that apply (reservations are made only when there are some)."""
        return [b for b in self.applicable(scopes, model) if b.hard]

    async def reserve(
        self,
        request_id: str,
        budgets: Sequence[Budget],
        amount: int,
        now: float,
    ) -> Reservation:
        """Hold ``amount`` against every budget in ``budgets`` (the hard ones that apply), or
        raise :class:`BudgetExceeded` naming the first without room."""
        counters = tuple(dict.fromkeys(b.counter for b in budgets))
        reservation = Reservation(request_id, amount, counters, tuple(budgets))
        checks = []
        for budget in budgets:
            window = self.calendar.window(budget.period, budget.days, now)
            checks.append((budget, window, self.spent(budget.counter, window)))
        if self.shared is not None:
            answer = await self.shared.reserve(reservation, checks, now)
            if answer is not None:
                index, spent, reserved = answer
                if index:
                    budget, window, _ = checks[index - 1]
                    raise BudgetExceeded(budget, window, spent, reserved, now)
                reservation.shared = True
        if not reservation.shared:
            for budget, window, spent in checks:
                held = self._reserved.get(budget.counter, 0)
                used = spent + held
                if used >= budget.limit_pusd or used + amount > budget.limit_pusd:
                    raise BudgetExceeded(budget, window, spent, held, now)
        for counter in counters:
            self._reserved[counter] += amount
        return reservation

    def charge(
        self,
        record: UsageRecord,
        reservation: Reservation | None = None,
        scopes: Sequence[Scope] | None = None,
    ) -> asyncio.Future[Any] | None:
        """Settle a finished request: release its reservation and count its cost (here at
        once, and with the other instances). Returns the shared settlement under way: a
        caller that waits for it before ending the answer makes the spend visible to every
        instance before the client can send its next request."""
        if reservation is not None and not reservation.settled:
            reservation.settled = True
            for counter in reservation.counters:
                left = self._reserved.get(counter, 0) - reservation.amount
                if left > 0:
                    self._reserved[counter] = left
                else:
                    self._reserved.pop(counter, None)
        self.recorded(record)
        counters = self._counted(record)
        shared = self.shared
        if shared is not None and self._spawn is not None:
            held = reservation if reservation is not None and reservation.shared else None
            if counters or held is not None:
                watch = self._watched(record)
                return self._spawn(self._settle_shared(shared, record, held, counters, watch))
        self._alert(record.at, [(b, w, self.spent(b.counter, w)) for b, w in self._watched(record)])
        return None

    def _watched(self, record: UsageRecord) -> list[tuple[Budget, Window]]:
        """The budgets with alert thresholds that this record's cost counts against."""
        if not record.cost_pusd or self.alerts is None:
            return []
        budgets = self.applicable(scopes_of_record(record), record.model)
        return [
            (b, self.calendar.window(b.period, b.days, record.at)) for b in budgets if b.thresholds
        ]

    async def _settle_shared(
        self,
        shared: SharedSpend,
        record: UsageRecord,
        reservation: Reservation | None,
        counters: list[Counter],
        watch: list[tuple[Budget, Window]],
    ) -> None:
        empty = Reservation(record.request_id, 0, (), ())
        totals = await shared.settle(
            reservation or empty, counters, record.day, record.cost_pusd, watch
        )
        spent = [
            max(self.spent(b.counter, w), totals[i] if totals else 0)
            for i, (b, w) in enumerate(watch)
        ]
        self._alert(record.at, [(b, w, s) for (b, w), s in zip(watch, spent, strict=True)])

    def _alert(self, now: float, watched: Iterable[tuple[Budget, Window, int]]) -> None:
        alerts = self.alerts
        if alerts is None:
            return
        for budget, window, spent in watched:
            for threshold in budget.thresholds:
                key = (budget.id, window.label, threshold)
                if key in self._alerted or spent * 100 < budget.limit_pusd * threshold:
                    continue
                self._alerted.add(key)
                if len(self._alerted) > 100_000:
                    self._alerted = set(itertools.islice(self._alerted, 50_000))
                try:
                    alerts.crossed(budget, window, threshold, spent, now)
                except Exception:  # an alert's failure must not fail the request
                    log.exception("could not raise a budget alert")
