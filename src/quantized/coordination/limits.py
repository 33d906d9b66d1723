"""Rate limits shared by every instance, counted atomically in Redis.

One Lua script trims the caller's sliding minute, checks both limits and, if the
request is admitted, counts it — in one atomic step, so concurrent requests on
any number of instances cannot pass a limit together. When Redis is unavailable
(or refuses the script) the process falls back to its own limiter (or refuses
requests, if configured to fail closed).

Token charges cost no round trip of their own: they wait in a batch, and go to
Redis with the caller's next admission on this instance (so this instance never
admits on stale counts of its own), or, for callers without one, in one script
call for every waiting caller a few milliseconds later. Other instances see a
charge at most ``CHARGE_DELAY`` later than before.
"""

from __future__ import annotations

from quantized.coordination.batch import Batch
from quantized.coordination.redis import RedisDown, RedisLink
from quantized.errors import ServiceUnavailableError
from quantized.limits import WINDOW, Decision, Limits, RateLimiter
from quantized.limits.local import LocalLimiter

CHARGE_DELAY = 0.005
"""Seconds a token charge may wait for company before it is sent."""
CHARGE_BATCH = 256
"""Waiting charges that are sent at once, without waiting for the delay."""
_MOST_PER_CALL = 1000
"""Charges sent in one script call (Lua's unpack takes a few thousand values)."""
_KEY_CACHE = 100_000

APPLY_CHARGES = """
-- ARGV[at]: n, ARGV[at+1]: their tokens, then n pairs of (time, "member:tokens")
local function apply_charges(tokens_log, tokens_total, at, ttl)
  local n = tonumber(ARGV[at])
  if n > 0 then
    redis.call('ZADD', tokens_log, unpack(ARGV, at + 2, at + 1 + 2 * n))
    redis.call('INCRBY', tokens_total, tonumber(ARGV[at + 1]))
    redis.call('PEXPIRE', tokens_log, ttl)
    redis.call('PEXPIRE', tokens_total, ttl)
  end
  return at + 2 + 2 * n
end
"""

ACQUIRE = (
    APPLY_CHARGES
    + """
-- KEYS: requests log (zset), tokens log (zset of "member:tokens"), tokens total (string)
-- ARGV: now, window, rpm, tpm, member, then the caller's waiting charges (apply_charges)
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local horizon = now - window
apply_charges(KEYS[2], KEYS[3], 6, math.ceil(window * 1000))
local used = 0
local tokens_reset = 0
if tpm > 0 then
  -- the running total loses what leaves the window: amortised O(1) per request
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon)) do
    redis.call('DECRBY', KEYS[3], tonumber(string.match(gone, ':(%d+)$')))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
  used = tonumber(redis.call('GET', KEYS[3]) or '0')
  if used < 0 then used = 0 end
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if first[2] then tokens_reset = tonumber(first[2]) + window - now end
end
local count = 0
local requests_reset = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', horizon)
  count = redis.call('ZCARD', KEYS[1])
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then requests_reset = tonumber(oldest[2]) + window - now end
end
if (rpm > 0 and count >= rpm) or (tpm > 0 and used >= tpm) then
  return {0, count, used, tostring(requests_reset), tostring(tokens_reset)}
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  if count == 0 then requests_reset = window end
  count = count + 1
end
return {1, count, used, tostring(requests_reset), tostring(tokens_reset)}
"""
)

CHARGE = (
    APPLY_CHARGES
    + """
-- KEYS: per caller, its tokens log and tokens total; ARGV[1]: window, then per caller
-- its charges (apply_charges)
local ttl = math.ceil(tonumber(ARGV[1]) * 1000)
local at = 2
for i = 1, #KEYS, 2 do
  at = apply_charges(KEYS[i], KEYS[i + 1], at, ttl)
end
return 1
"""
)

Charge = tuple[float, str, int]
"""When, which request, how many tokens."""


def charge_arguments(charges: list[Charge]) -> list[object]:
    arguments: list[object] = [len(charges), sum(tokens for _, _, tokens in charges)]
    for now, member, tokens in charges:
        arguments += (now, f"{member}:{tokens}")
    return arguments


class RedisLimiter(RateLimiter):
    def __init__(self, link: RedisLink, *, fail_closed: bool = False) -> None:
        self._link = link
        self._fail_closed = fail_closed
        self._local = LocalLimiter()
        self._keys: dict[str, tuple[str, str, str]] = {}
        self._charges: Batch[str, Charge] = Batch(
            self._send_charges, delay=CHARGE_DELAY, limit=CHARGE_BATCH
        )

    def _unavailable(self) -> None:
        if self._fail_closed:
            raise ServiceUnavailableError(
                "Rate limiting is unavailable (Redis is unreachable) and this gateway is "
                "configured to refuse requests until it returns."
            )

    def _keys_of(self, subject: str) -> tuple[str, str, str]:
        keys = self._keys.get(subject)
        if keys is None:
            if len(self._keys) >= _KEY_CACHE:
                self._keys.clear()
            key = self._link.key
            keys = key("rl", "req", subject), key("rl", "tok", subject), key("rl", "sum", subject)
            self._keys[subject] = keys
        return keys

    async def acquire(self, subject: str, limits: Limits, member: str, now: float) -> Decision:
        waiting = self._charges.take(subject) or []
        if len(waiting) > _MOST_PER_CALL:  # unheard of: leave them to the batch
            for charge in waiting:
                self._charges.add(subject, charge)
            waiting = []
        try:
            result = await self._link.run_script(
                ACQUIRE,
                self._keys_of(subject),
                [now, WINDOW, limits.rpm, limits.tpm, member, *charge_arguments(waiting)],
            )
        except RedisDown:
            self._charge_locally(subject, waiting)
            self._unavailable()
            return await self._local.acquire(subject, limits, member, now)
        allowed, count, used = int(result[0]), int(result[1]), int(result[2])
        requests_reset, tokens_reset = float(result[3]), float(result[4])
        retry = 0.0
        if not allowed:
            over_requests = limits.rpm > 0 and count >= limits.rpm
            retry = requests_reset if over_requests else tokens_reset
        return Decision(
            bool(allowed),
            limits,
            max(0, limits.rpm - count),
            requests_reset,
            max(0, limits.tpm - used),
            tokens_reset,
            retry_after=retry,
        )

    def charge(self, subject: str, tokens: int, member: str, now: float) -> None:
        if tokens > 0:
            self._charges.add(subject, (now, member, tokens))

    async def close(self) -> None:
        await self._charges.flush()

    async def _send_charges(self, waiting: dict[str, list[Charge]]) -> None:
        calls: list[list[tuple[str, list[Charge]]]] = [[]]
        size = 0
        for subject, charges in waiting.items():
            for start in range(0, len(charges), _MOST_PER_CALL):
                part = charges[start : start + _MOST_PER_CALL]
                if size + len(part) > _MOST_PER_CALL:
                    calls.append([])
                    size = 0
                calls[-1].append((subject, part))
                size += len(part)
        for call in calls:
            keys: list[str] = []
            arguments: list[object] = [WINDOW]
            for subject, charges in call:
                keys += self._keys_of(subject)[1:]
                arguments += charge_arguments(charges)
            try:
                await self._link.run_script(CHARGE, keys, arguments)
            except RedisDown:
                for subject, charges in call:
                    self._charge_locally(subject, charges)

    def _charge_locally(self, subject: str, charges: list[Charge]) -> None:
        for now, member, tokens in charges:
            self._local.charge(subject, tokens, member, now)
