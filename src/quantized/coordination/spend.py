"""Reservations and spend every instance shares, in Redis, so budgets hold across them.

Spend is one counter per scope, model and local day (``INCRBY``, exact 64-bit integers).
Requests in flight hold reservations: a hash per scope and model, one field per request
(``amount:expires``, so a reservation whose instance died is dropped after
``QUANTIZED_BUDGET_RESERVATION_TTL``). One Lua script checks every budget of a request
and reserves against all of them atomically; another releases a reservation and counts
the cost. A check takes the larger of Redis's sum and this process's (``floor``: what
the ledger holds), which covers counters Redis lost when restarted. Sums inside the
scripts are Lua numbers (doubles): exact to 2⁵³ picodollars (9,007 USD), within a few
picodollars above.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from quantized.coordination.redis import RedisDown, RedisLink
from quantized.usage.budgets import Budget, Counter, Reservation
from quantized.usage.windows import MAX_ROLLING_DAYS, Window

_DAY_TTL = (MAX_ROLLING_DAYS + 8) * 86400

RESERVE = """
local a = cjson.decode(ARGV[1])
local held = {}
for i, h in ipairs(a.holds) do
  local total = 0
  local all = redis.call('HGETALL', KEYS[h])
  for j = 1, #all, 2 do
    local amount, expires = string.match(all[j + 1], '^(%d+):(%d+)$')
    if amount == nil or tonumber(expires) <= a.now then
      redis.call('HDEL', KEYS[h], all[j])
    else
      total = total + tonumber(amount)
    end
  end
  held[i] = total
end
for i, c in ipairs(a.checks) do
  local spent = 0
  for _, d in ipairs(c.days) do
    spent = spent + tonumber(redis.call('GET', KEYS[d]) or '0')
  end
  if c.floor > spent then spent = c.floor end
  local used = spent + held[c.hold]
  if used >= c.limit or used + a.amount > c.limit then
    return {i, string.format('%.0f', spent), string.format('%.0f', held[c.hold])}
  end
end
for _, h in ipairs(a.holds) do
  redis.call('HSET', KEYS[h], a.id, ARGV[2] .. ':' .. a.expires)
  redis.call('EXPIRE', KEYS[h], a.ttl)
end
return {0, '0', '0'}
"""

SETTLE = """
local a = cjson.decode(ARGV[1])
for _, h in ipairs(a.holds) do redis.call('HDEL', KEYS[h], a.id) end
if ARGV[2] ~= '0' then
  for _, d in ipairs(a.days) do
    redis.call('INCRBY', KEYS[d], ARGV[2])
    redis.call('EXPIRE', KEYS[d], a.ttl)
  end
end
local sums = {}
for i, w in ipairs(a.watch) do
  local spent = 0
  for _, d in ipairs(w) do spent = spent + tonumber(redis.call('GET', KEYS[d]) or '0') end
  sums[i] = string.format('%.0f', spent)
end
return sums
"""


def _part(text: str) -> str:
    return f"{len(text)}.{text}"  # length-prefixed: ids may contain the separator


class Keys:
    """Builds the script's KEYS list, each key once, returning 1-based indexes."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def _add(self, name: str) -> int:
        index = self._index.get(name)
        if index is None:
            self.names.append(name)
            index = self._index[name] = len(self.names)
        return index

    def day(self, counter: Counter, day: str) -> int:
        kind, scope_id, model = counter
        return self._add(self._link.key("spend", kind, _part(scope_id), _part(model), day))

    def hold(self, counter: Counter) -> int:
        kind, scope_id, model = counter
        return self._add(self._link.key("held", kind, _part(scope_id), _part(model)))


class RedisSpend:
    """``usage.budgets.SharedSpend`` in Redis."""

    def __init__(self, link: RedisLink, reservation_ttl: float) -> None:
        self._link = link
        self._ttl = int(reservation_ttl)

    async def reserve(
        self,
        reservation: Reservation,
        checks: Sequence[tuple[Budget, Window, int]],
        now: float,
    ) -> tuple[int, int, int] | None:
        keys = Keys(self._link)
        holds = {counter: keys.hold(counter) for counter in reservation.counters}
        order = list(holds)
        arguments = {
            "id": reservation.request_id,
            "amount": reservation.amount,
            "now": int(now),
            "expires": int(now) + self._ttl,
            "ttl": self._ttl,
            "holds": list(holds.values()),
            "checks": [
                {
                    "limit": budget.limit_pusd,
                    "floor": floor,
                    "hold": order.index(budget.counter) + 1,
                    "days": [keys.day(budget.counter, day) for day in window.days()],
                }
                for budget, window, floor in checks
            ],
        }
        try:
            answer = await self._link.run_script(
                RESERVE, keys.names, [orjson.dumps(arguments), str(reservation.amount)]
            )
            return int(answer[0]), int(answer[1]), int(answer[2])
        except RedisDown:
            return None
        except (ValueError, TypeError, IndexError) as exc:
            self._link.refused(ValueError(f"BADVALUE a budget counter: {exc}"))
            return None

    async def settle(
        self,
        reservation: Reservation,
        counters: Sequence[Counter],
        day: str,
        amount: int,
        watch: Sequence[tuple[Budget, Window]],
    ) -> list[int] | None:
        keys = Keys(self._link)
        arguments = {
            "id": reservation.request_id,
            "ttl": _DAY_TTL,
            "holds": [keys.hold(c) for c in reservation.counters] if reservation.shared else [],
            "days": [keys.day(c, day) for c in counters],
            "watch": [[keys.day(b.counter, d) for d in w.days()] for b, w in watch],
        }
        try:
            answer = await self._link.run_script(
                SETTLE, keys.names, [orjson.dumps(arguments), str(max(amount, 0))]
            )
            return [int(value) for value in answer]
        except RedisDown:
            return None  # the ledger still has it; every instance re-reads the ledger's sums
        except (ValueError, TypeError) as exc:
            self._link.refused(ValueError(f"BADVALUE a budget counter: {exc}"))
            return None
