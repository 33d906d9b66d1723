from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from quantized.errors import RateLimitError
from quantized.usage.budgets import Budget, Budgets, Today, day_of, month_start
from quantized.usage.ledger import UsageRecord
from tests.utils.records import usage_record

USD = 10**12
KEY = ("key", "k1")


def at(*when: int) -> float:
    return dt.datetime(*when, tzinfo=dt.UTC).timestamp()  # type: ignore[misc]


NOW = at(2024, 3, 14, 15, 30)  # 8.5 hours before the next UTC midnight

RECORD = usage_record(at=NOW, day="2024-03-14", cost_pusd=USD, latency_ms=12.0)


def record(cost_pusd: int, day: str = "2024-03-14", caller_id: str = "k1") -> UsageRecord:
    return replace(RECORD, cost_pusd=cost_pusd, day=day, caller_id=caller_id)


def tracker(daily: int | None = None, monthly: int | None = None) -> Budgets:
    spend = Budgets()
    spend.set_budgets([Budget("key", "k1", daily, monthly)])
    return spend


def refusal(
    spend: Budgets, now: float = NOW, shared: tuple[int, int] | None = None
) -> RateLimitError:
    with pytest.raises(RateLimitError) as info:
        spend.check(*KEY, now, shared=shared)
    return info.value


def test_no_budget_no_limit() -> None:
    spend = Budgets()
    spend.recorded(record(10**6 * USD))
    spend.check(*KEY, NOW)
    assert spend.budget(*KEY) is None
    tracker(daily=USD).check("key", "someone-else", NOW)


def test_daily_limit() -> None:
    spend = tracker(daily=5 * USD)
    spend.recorded(record(4 * USD))
    spend.recorded(record(10 * USD, day="2024-03-13"))  # yesterday does not count today
    spend.check(*KEY, NOW)
    spend.recorded(record(USD))
    error = refusal(spend)
    assert error.code == "budget_exceeded"
    assert error.message == (
        "The daily budget of $5.00 is spent ($5.00 used); it resets at 2024-03-15T00:00:00Z."
    )
    assert error.retry_after == 8.5 * 3600


def test_small_and_large_amounts_in_the_message() -> None:
    spend = tracker(daily=1_200_000_000)  # $0.0012
    spend.recorded(record(1_234_567_000))
    assert "budget of $0.0012 is spent ($0.001235 used)" in refusal(spend).message
    spend = tracker(daily=1234 * USD + USD // 2)
    spend.recorded(record(2000 * USD))
    assert "budget of $1,234.50 is spent ($2,000.00 used)" in refusal(spend).message


def test_monthly_limit() -> None:
    spend = tracker(daily=100 * USD, monthly=10 * USD)
    spend.recorded(record(6 * USD, day="2024-03-01"))
    spend.recorded(record(3 * USD))
    spend.recorded(record(50 * USD, day="2024-02-29"))  # last month
    spend.check(*KEY, NOW)
    spend.recorded(record(USD, day="2024-03-02"))
    error = refusal(spend)
    assert error.code == "budget_exceeded"
    assert error.message == (
        "The monthly budget of $10.00 is spent ($10.00 used); it resets at 2024-04-01T00:00:00Z."
    )
    assert error.retry_after == at(2024, 4, 1) - NOW


def test_monthly_limit_resets_in_january() -> None:
    now = at(2024, 12, 31, 23, 0)
    spend = tracker(monthly=USD)
    spend.recorded(record(USD, day="2024-12-02"))
    error = refusal(spend, now)
    assert error.message.endswith("it resets at 2025-01-01T00:00:00Z.")
    assert error.retry_after == 3600
    spend.check(*KEY, at(2025, 1, 1))  # a new month


def test_shared_spend_counts_when_larger() -> None:
    spend = tracker(daily=5 * USD)
    spend.check(*KEY, NOW, shared=(4 * USD, 4 * USD))
    spend.recorded(record(USD))
    assert "($6.00 used)" in refusal(spend, shared=(6 * USD, 6 * USD)).message
    assert "($5.00 used)" in refusal(spend, shared=(5 * USD, 5 * USD)).message
    spend.recorded(record(5 * USD))
    assert "($6.00 used)" in refusal(spend, shared=(0, 0)).message  # local spend is larger


def test_recorded_then_written_counts_once() -> None:
    spend = tracker()
    first, second = record(3 * USD), record(2 * USD, day="2024-03-01")
    spend.recorded(first)
    spend.recorded(second)
    spend.recorded(record(0))
    assert spend.spent(*KEY, NOW) == (3 * USD, 5 * USD)
    spend.written([first, second, record(0)])
    assert spend.spent(*KEY, NOW) == (3 * USD, 5 * USD)
    spend.recorded(record(USD))
    assert spend.spent(*KEY, NOW) == (4 * USD, 6 * USD)


def test_set_written_replaces_the_written_part_only() -> None:
    spend = tracker()
    spend.written([record(3 * USD)])
    spend.recorded(record(USD))  # not written yet
    spend.set_written([("key", "k1", "2024-03-14", 7 * USD), ("key", "k1", "2024-03-02", USD)])
    assert spend.spent(*KEY, NOW) == (8 * USD, 9 * USD)
    spend.set_written([])
    assert spend.spent(*KEY, NOW) == (USD, USD)


def test_spend_is_per_caller_and_only_for_callers_with_a_budget() -> None:
    spend = Budgets()
    spend.set_budgets([Budget("key", "k2", USD * 5, None), Budget("key", "k3", USD * 5, None)])
    spend.recorded(record(USD, caller_id="k2"))
    spend.written([record(USD, caller_id="k3")])
    spend.recorded(record(USD, caller_id="k4"))  # no budget: nothing to count for
    assert spend.spent("key", "k2", NOW) == (USD, USD)
    assert spend.spent("key", "k3", NOW) == (USD, USD)
    assert spend.spent("key", "k4", NOW) == (0, 0)
    assert spend.spent("user", "k2", NOW) == (0, 0)


def test_day_of_and_month_start() -> None:
    assert day_of(at(2024, 3, 14, 23, 59, 59)) == "2024-03-14"
    assert day_of(at(2024, 3, 15)) == "2024-03-15"
    assert day_of(0) == "1970-01-01"
    assert month_start(NOW) == at(2024, 3, 1)
    assert month_start(at(2024, 3, 1)) == at(2024, 3, 1)
    assert month_start(at(2025, 1, 31, 23, 59)) == at(2025, 1, 1)


def test_today_follows_the_clock_both_ways() -> None:
    today = Today()
    assert today.of(NOW) == "2024-03-14"
    assert today.of(at(2024, 3, 14, 23, 59, 59)) == "2024-03-14"
    assert today.of(at(2024, 3, 15)) == "2024-03-15"
    assert today.of(at(2024, 3, 13, 12)) == "2024-03-13"
    assert today.of(at(2024, 3, 15, 1)) == "2024-03-15"
