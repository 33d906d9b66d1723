"""The budget rules in one process: which budgets apply, windows, reservations, settlement."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from quantized.usage.budgets import Budget, BudgetExceeded, Budgets, scopes_of
from quantized.usage.ledger import UsageRecord
from quantized.usage.windows import Calendar, Window
from tests.utils.records import usage_record

USD = 10**12
UTC = ZoneInfo("UTC")


def at(*when: int) -> float:
    return dt.datetime(*when, tzinfo=dt.UTC).timestamp()  # type: ignore[misc]


NOW = at(2024, 3, 14, 15, 30)  # 8.5 hours before the next UTC midnight
KEY_SCOPES = scopes_of("key", "7", 3, "alice")
RECORD = usage_record(
    at=NOW, day="2024-03-14", cost_pusd=USD, caller_id="7", model="m1", latency_ms=1.0
)


def record(cost: int, day: str = "2024-03-14", **changes: object) -> UsageRecord:
    fields: dict[str, object] = {"team_id": 3, "person": "alice", **changes}
    return replace(RECORD, cost_pusd=cost, day=day, **fields)  # type: ignore[arg-type]


def budget(
    budget_id: int = 1,
    scope: tuple[str, str] = ("key", "7"),
    limit: int = 5 * USD,
    period: str = "day",
    model: str = "",
    hard: bool = True,
    days: int = 0,
    thresholds: tuple[int, ...] = (),
) -> Budget:
    return Budget(budget_id, *scope, model, period, days, limit, hard, thresholds)


def engine(*budgets: Budget, zone: ZoneInfo = UTC) -> Budgets:
    found = Budgets(Calendar(zone))
    found.set_budgets(budgets)
    return found


def reserve(spend: Budgets, amount: int, now: float = NOW, request: str = "r") -> object:
    applicable = spend.hard(KEY_SCOPES, "m1")
    return asyncio.run(spend.reserve(request, applicable, amount, now))


def refusal(spend: Budgets, amount: int = 0, now: float = NOW) -> BudgetExceeded:
    with pytest.raises(BudgetExceeded) as info:
        reserve(spend, amount, now)
    return info.value


def test_scopes_of_keys_and_tokens() -> None:
    assert scopes_of("key", "7", 3, "alice") == [("key", "7"), ("person", "alice"), ("team", "3")]
    assert scopes_of("key", "7", None, None) == [("key", "7")]
    assert scopes_of("jwt", "alice", None, "alice") == [("person", "alice")]


def test_every_applicable_budget_and_only_those() -> None:
    key = budget(1, ("key", "7"))
    person = budget(2, ("person", "alice"))
    team = budget(3, ("team", "3"))
    team_model = budget(4, ("team", "3"), model="m1")
    other_model = budget(5, ("team", "3"), model="m2")
    other_team = budget(6, ("team", "4"))
    soft = budget(7, ("key", "7"), hard=False)
    spend = engine(key, person, team, team_model, other_model, other_team, soft)
    assert spend.applicable(KEY_SCOPES, "m1") == [key, soft, person, team, team_model]
    assert spend.hard(KEY_SCOPES, "m1") == [key, person, team, team_model]
    assert spend.hard(KEY_SCOPES, "m2") == [key, person, team, other_model]
    assert spend.hard([("key", "8")], "m1") == []


def test_refused_by_the_budget_that_is_spent_naming_it() -> None:
    spend = engine(budget(1, ("key", "7"), limit=100 * USD), budget(2, ("team", "3"), 5 * USD))
    spend.recorded(record(4 * USD))
    spend.recorded(record(10 * USD, day="2024-03-13"))  # yesterday does not count today
    reserve(spend, 0)
    spend.recorded(record(USD))
    error = refusal(spend)
    assert error.code == "budget_exceeded"
    assert error.budget.id == 2
    assert error.message == (
        "The daily budget of team 3 for all models ($5.00) has no room for this request: "
        "$5.00 spent; it resets at 2024-03-15T00:00:00Z."
    )
    assert error.retry_after == 8.5 * 3600


def test_a_spent_budget_refuses_even_free_requests() -> None:
    spend = engine(budget(limit=USD))
    spend.recorded(record(USD))
    assert refusal(spend, 0).budget.id == 1


def test_reservations_hold_until_settled_and_cannot_overshoot() -> None:
    spend = engine(budget(limit=10 * USD))
    held = [reserve(spend, USD, request=f"r{i}") for i in range(10)]
    error = refusal(spend, USD)
    assert "$10.00 reserved by requests in flight" in error.message
    # settle one for less than its worst case: room for another
    spend.charge(record(USD // 2, request_id="r0"), held[0])  # type: ignore[arg-type]
    assert spend.reserved(("key", "7", "")) == 9 * USD
    reserve(spend, USD // 2, request="r10")
    refusal(spend, 1)
    # a failed request settles at nothing
    spend.charge(record(0, request_id="r1"), held[1])  # type: ignore[arg-type]
    assert spend.reserved(("key", "7", "")) == 9 * USD - USD + USD // 2


def test_settling_twice_releases_once() -> None:
    spend = engine(budget(limit=10 * USD))
    held = reserve(spend, 3 * USD)
    spend.charge(record(USD), held)  # type: ignore[arg-type]
    spend.charge(record(USD), held)  # type: ignore[arg-type]
    assert spend.reserved(("key", "7", "")) == 0


def test_worst_case_must_fit() -> None:
    spend = engine(budget(limit=10 * USD))
    spend.recorded(record(9 * USD))
    reserve(spend, USD)
    refusal(spend, 1)


def test_per_model_budgets_count_that_model_only() -> None:
    spend = engine(budget(1, model="m1", limit=2 * USD))
    spend.recorded(record(5 * USD, model="m2"))
    reserve(spend, USD)
    spend.recorded(record(2 * USD))
    refusal(spend)


@pytest.mark.parametrize(
    ("period", "days", "counted", "not_counted"),
    [
        ("week", 0, "2024-03-11", "2024-03-10"),  # Monday counts, the Sunday before does not
        ("month", 0, "2024-03-01", "2024-02-29"),
        ("rolling", 3, "2024-03-12", "2024-03-11"),
    ],
)
def test_windows(period: str, days: int, counted: str, not_counted: str) -> None:
    spend = engine(budget(period=period, days=days, limit=5 * USD))
    spend.recorded(record(10 * USD, day=not_counted))
    reserve(spend, USD)
    spend.recorded(record(5 * USD, day=counted))
    assert refusal(spend).budget.period == period


def test_month_resets_in_the_zone() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    spend = engine(budget(period="month", limit=USD), zone=kolkata)
    spend.recorded(record(USD, day="2024-03-31"))
    late = at(2024, 3, 31, 18, 0)  # 23:30 in Kolkata: still March there
    error = refusal(spend, now=late)
    assert error.message.endswith("it resets at 2024-04-01T00:00:00+05:30.")
    assert error.retry_after == 1800
    reserve(spend, 0, now=at(2024, 3, 31, 18, 30))  # April in Kolkata


def test_recorded_then_written_counts_once() -> None:
    spend = engine(budget(period="month", limit=100 * USD))
    first, second = record(3 * USD), record(2 * USD, day="2024-03-01")
    spend.recorded(first)
    spend.recorded(second)
    window = spend.calendar.window("month", 0, NOW)
    assert spend.spent(("key", "7", ""), window) == 5 * USD
    spend.written([first, second])
    assert spend.spent(("key", "7", ""), window) == 5 * USD
    spend.recorded(record(USD))
    assert spend.spent(("key", "7", ""), window) == 6 * USD


def test_set_written_replaces_the_days_it_covers() -> None:
    spend = engine(budget(period="month", limit=100 * USD))
    counter = ("key", "7", "")
    window = spend.calendar.window("month", 0, NOW)
    spend.written([record(3 * USD)])
    spend.recorded(record(USD))  # not written yet
    spend.set_written(
        [("key", "7", "", "2024-03-14", 7 * USD), ("key", "7", "", "2024-03-02", USD)]
    )
    assert spend.spent(counter, window) == 9 * USD
    spend.set_written([("key", "7", "", "2024-03-14", 2 * USD)], since_day="2024-03-13")
    assert spend.spent(counter, window) == 4 * USD  # March 2nd kept, the 14th replaced
    spend.set_written([])
    assert spend.spent(counter, window) == USD


def test_only_counted_scopes_are_kept() -> None:
    spend = engine(budget(1, ("team", "3")))
    spend.recorded(record(USD))
    spend.recorded(record(USD, team_id=4))
    window: Window = spend.calendar.window("day", 0, NOW)
    assert spend.spent(("team", "3", ""), window) == USD
    assert spend.spent(("team", "4", ""), window) == 0
    assert spend.spent(("key", "7", ""), window) == 0


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[int, str, int, int]] = []

    def crossed(
        self, budget: Budget, window: Window, threshold: int, spent: int, now: float
    ) -> None:
        self.seen.append((budget.id, window.label, threshold, spent))


def test_thresholds_alert_once_per_window() -> None:
    spend = engine(budget(1, limit=10 * USD, hard=False, thresholds=(50, 80, 100)))
    alerts = spend.alerts = Recorder()
    spend.charge(record(4 * USD))
    assert alerts.seen == []
    spend.charge(record(USD))
    assert alerts.seen == [(1, "2024-03-14", 50, 5 * USD)]
    spend.charge(record(6 * USD))  # 110 %: both remaining thresholds, once each
    spend.charge(record(USD))
    assert [s[2] for s in alerts.seen] == [50, 80, 100]
    tomorrow = replace(record(6 * USD, day="2024-03-15"), at=at(2024, 3, 15, 1))
    spend.charge(tomorrow)  # a new window
    assert alerts.seen[-1] == (1, "2024-03-15", 50, 6 * USD)
