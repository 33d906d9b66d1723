from __future__ import annotations

from decimal import Decimal

import pytest

from quantized.catalog.model import Cost
from quantized.usage.cost import cost_usd, from_pico, price, to_pico, usd_number

GPT = Cost(prompt=2.5, completion=10, input_cache_read=1.25)


def test_cost_with_cached_tokens() -> None:
    # 600,000 uncached x 2.5 + 400,000 cached x 1.25 + 200,000 x 10, per million
    cost = cost_usd(GPT, 1_000_000, 400_000, 200_000)
    assert cost == Decimal("1.5") + Decimal("0.5") + Decimal("2")
    assert cost == Decimal("4")
    assert to_pico(cost) == 4 * 10**12


def test_cost_without_cached_tokens() -> None:
    assert cost_usd(GPT, 1234, 0, 567) == Decimal("0.008755")  # 0.003085 + 0.00567
    assert cost_usd(GPT, 1, 0, 0) == Decimal("0.0000025")
    assert cost_usd(GPT, 0, 0, 0) == 0


def test_prices_are_the_decimals_they_were_written_as() -> None:
    assert price(0.1) == Decimal("0.1")
    assert price(0.003625) == Decimal("0.003625")
    assert price(3) == Decimal("3")
    cheap = Cost(prompt=0.1, completion=0.003625, input_cache_read=0.01)
    assert cost_usd(cheap, 3, 0, 0) == Decimal("0.0000003")
    assert cost_usd(cheap, 7, 3, 11) == Decimal("0.000000469875")  # 0.4 + 0.03 + 0.039875 per M
    assert to_pico(cost_usd(cheap, 7, 3, 11)) == 469_875
    assert to_pico(cost_usd(cheap, 1, 0, 0)) == 100_000


def test_cached_tokens_beyond_the_prompt_are_clamped() -> None:
    assert cost_usd(GPT, 100, 250, 0) == cost_usd(GPT, 100, 100, 0) == Decimal("0.000125")


@pytest.mark.parametrize(
    ("prompt", "cached", "completion", "expected"),
    [
        (-100, 0, 0, Decimal(0)),
        (100, -50, 0, Decimal("0.00025")),
        (0, 0, -10, Decimal(0)),
        (-100, -5, -10, Decimal(0)),
        (-100, 50, 10, Decimal("0.0001")),
    ],
)
def test_negative_tokens_count_as_zero(
    prompt: int, cached: int, completion: int, expected: Decimal
) -> None:
    assert cost_usd(GPT, prompt, cached, completion) == expected


def test_picodollars() -> None:
    assert to_pico(Decimal("1")) == 10**12
    assert to_pico(Decimal("0.000000000001")) == 1
    assert to_pico(Decimal("0.0000000000005")) == 0  # half to even
    assert to_pico(Decimal("0.0000000000015")) == 2
    assert from_pico(1) == Decimal("0.000000000001")
    assert from_pico(2_500_000_000_000) == Decimal("2.5")


@pytest.mark.parametrize("amount", [0, 1, 7, 469_875, 10**12, 123_456_789_012_345, 10**18])
def test_pico_round_trips(amount: int) -> None:
    assert to_pico(from_pico(amount)) == amount
    assert to_pico(Decimal(repr(usd_number(amount)))) == amount


@pytest.mark.parametrize(
    ("amount", "number"),
    [(0, 0), (10**12, 1), (5 * 10**12, 5), (100 * 10**12, 100), (10**18, 1_000_000)],
)
def test_whole_dollars_are_ints(amount: int, number: int) -> None:
    value = usd_number(amount)
    assert type(value) is int
    assert value == number


@pytest.mark.parametrize(
    ("amount", "number"),
    [(1, 1e-12), (2_500_000_000_000, 2.5), (469_875, 4.69875e-07), (10**12 + 1, 1.000000000001)],
)
def test_fractions_are_floats(amount: int, number: float) -> None:
    value = usd_number(amount)
    assert type(value) is float
    assert value == number


def test_usd_number_is_exact_to_the_picodollar_below_a_thousand_dollars() -> None:
    amount = 10**15 - 1  # $999.999999999999
    assert to_pico(Decimal(repr(usd_number(amount)))) == amount
