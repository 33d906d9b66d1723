"""Cost in USD, exactly: decimal arithmetic on the catalog's prices.

    cost = ((prompt - cached - written) x prompt_price + cached x cache_read_price
            + written x cache_write_price + completion x completion_price) / 1,000,000

``prompt`` counts every input token, cache reads (``cached``) and cache writes
(``written``) included; writes cost the prompt price where the catalog sets no
cache-write price. Counts are clamped (negatives are zero, reads and writes never
exceed the prompt), so no upstream report can make a cost negative.

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
    prices: Cost,
    prompt_tokens: int,
    cached_tokens: int,
    completion_tokens: int,
    cache_write_tokens: int = 0,
) -> Decimal:
    prompt = max(prompt_tokens, 0)
    cached = min(max(cached_tokens, 0), prompt)
    written = min(max(cache_write_tokens, 0), prompt - cached)
    write_price = prices.prompt if prices.input_cache_write is None else prices.input_cache_write
    total = (
        (prompt - cached - written) * price(prices.prompt)
        + cached * price(prices.input_cache_read)
        + written * price(write_price)
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
