"""Cost in USD, exactly: decimal arithmetic on the catalog's prices.

    cost = ((prompt - cached) x prompt_price + cached x cache_read_price
            + completion x completion_price) / 1,000,000

Prices are USD per million tokens. Amounts are stored as integer picodollars
(10^-12 USD): exact for every price with up to six decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from quantized.catalog.model import Cost

PICO = Decimal(10) ** 12
MILLION = Decimal(1_000_000)


def price(value: float) -> Decimal:
    """A catalog price as the decimal it was written as (``0.1``, not ``0.1000000000000000055``)."""
    return Decimal(repr(value))


def cost_usd(
    prices: Cost, prompt_tokens: int, cached_tokens: int, completion_tokens: int
) -> Decimal:
    cached = min(max(cached_tokens, 0), max(prompt_tokens, 0))
    uncached = max(prompt_tokens, 0) - cached
    total = (
        uncached * price(prices.prompt)
        + cached * price(prices.input_cache_read)
        + max(completion_tokens, 0) * price(prices.completion)
    )
    return total / MILLION


def to_pico(usd: Decimal) -> int:
    return int((usd * PICO).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_pico(amount: int) -> Decimal:
    return Decimal(amount) / PICO


def usd_number(amount: int) -> float | int:
    """Picodollars as a JSON number of USD.

    Exact to the picodollar below $1,000 (15 significant digits, all a float is sure
    to keep); larger amounts are rounded to float precision. The ledger stays exact.
    """
    usd = from_pico(amount).normalize()
    return int(usd) if usd == usd.to_integral_value() else float(usd)
