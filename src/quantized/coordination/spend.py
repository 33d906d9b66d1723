"""Spend counters every instance shares: charged as requests complete, read before each one.

Redis keeps one counter per caller and UTC day, and one per month. A budget check
reads both (and takes the larger of each and what this process knows from the
ledger, which covers counters Redis lost when restarted).
"""

from __future__ import annotations

from quantized.coordination.redis import RedisDown, RedisLink

_DAY_TTL = 3 * 86400
_MONTH_TTL = 33 * 86400
CHARGE = """
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class SharedSpend:
    def __init__(self, link: RedisLink) -> None:
        self._link = link

    def _keys(self, kind: str, subject: str, day: str) -> tuple[str, str]:
        return (
            self._link.key("spend", kind, subject, day),
            self._link.key("spend", kind, subject, day[:7]),
        )

    async def spent(self, kind: str, subject: str, day: str) -> tuple[int, int] | None:
        """(today, this month) in picodollars, or ``None`` when Redis is unavailable."""
        keys = self._keys(kind, subject, day)
        try:
            values = await self._link.command("MGET", *keys)
        except RedisDown:
            return None
        try:
            return int(values[0] or 0), int(values[1] or 0)
        except ValueError:  # a counter someone overwrote: as if Redis had refused to answer
            self._link.refused(ValueError("BADVALUE a spend counter is not an integer"))
            return None

    async def charge(self, kind: str, subject: str, day: str, amount: int) -> None:
        if amount <= 0:
            return
        try:
            await self._link.run_script(
                CHARGE, list(self._keys(kind, subject, day)), [amount, _DAY_TTL, _MONTH_TTL]
            )
        except RedisDown:
            pass  # the ledger still has it; every instance re-reads the ledger when it syncs
