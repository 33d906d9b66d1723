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


CLAUDE = Cost(prompt=3, completion=15, input_cache_read=0.3, input_cache_write=3.75)


def test_cache_writes_at_their_own_price() -> None:
    # 500 x 3 + 300 cached x 0.3 + 200 written x 3.75 + 50 x 15, per million
    cost = cost_usd(CLAUDE, 1000, 300, 50, 200)
    assert cost == (Decimal(1500) + Decimal(90) + Decimal(750) + Decimal(750)) / 10**6
    assert cost == Decimal("0.00309")
    assert to_pico(cost) == 3_090_000_000
    assert cost_usd(CLAUDE, 7, 0, 0, 7) == Decimal("0.00002625")  # every input token written


def test_cache_writes_without_a_write_price_cost_the_prompt_price() -> None:
    # 500 x 2.5 + 300 x 1.25 + 200 x 2.5 + 50 x 10, per million
    assert cost_usd(GPT, 1000, 300, 50, 200) == Decimal("0.002625")
    assert cost_usd(GPT, 1000, 300, 50, 200) == cost_usd(GPT, 1000, 300, 50)


def test_decimal_write_prices_are_exact() -> None:
    odd = Cost(prompt=0.1, completion=0.4, input_cache_read=0.01, input_cache_write=0.125)
    assert cost_usd(odd, 3, 1, 0, 1) == Decimal("0.000000235")  # (0.1 + 0.01 + 0.125) per M
    assert to_pico(cost_usd(odd, 3, 1, 0, 1)) == 235_000


@pytest.mark.parametrize(
    ("prompt", "cached", "written", "expected"),
    [
        (100, 0, 250, Decimal("0.000375")),  # writes beyond the prompt: all 100 written
        (100, 60, 60, Decimal("0.000168")),  # reads first, then 40 writes: 60 x 0.3 + 40 x 3.75
        (100, 150, 50, Decimal("0.00003")),  # reads fill the prompt: nothing left to write
        (100, 0, -20, Decimal("0.0003")),  # negative writes count as none
        (-100, 0, 50, Decimal(0)),  # no prompt: no reads, no writes
    ],
)
def test_cache_reads_and_writes_never_exceed_the_prompt(
    prompt: int, cached: int, written: int, expected: Decimal
) -> None:
    cost = cost_usd(CLAUDE, prompt, cached, 0, written)
    assert cost == expected
    assert cost >= 0


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
