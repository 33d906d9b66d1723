"""Rate limits shared by every instance, counted atomically in Redis.

One Lua script trims the caller's sliding minute, checks both limits and, if the
request is admitted, counts it — in one atomic step, so concurrent requests on
any number of instances cannot pass a limit together. When Redis is unavailable
the process falls back to its own limiter (or refuses requests, if configured to
fail closed).
"""

from __future__ import annotations

from quantized.coordination.redis import RedisDown, RedisLink
from quantized.errors import ServiceUnavailableError
from quantized.limits import WINDOW, Decision, Limits, RateLimiter
from quantized.limits.local import LocalLimiter

ACQUIRE = """
-- KEYS: requests log (zset), tokens log (zset of "member:tokens"), tokens total (string)
-- ARGV: now, window, rpm, tpm, member
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local horizon = now - window
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

CHARGE = """
-- KEYS: tokens log, tokens total; ARGV: now, window, "member:tokens", tokens
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[4]))
local ttl = math.ceil(tonumber(ARGV[2]) * 1000)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""


class RedisLimiter(RateLimiter):
    def __init__(self, link: RedisLink, *, fail_closed: bool = False) -> None:
        self._link = link
        self._fail_closed = fail_closed
        self._local = LocalLimiter()

    def _unavailable(self) -> None:
        if self._fail_closed:
            raise ServiceUnavailableError(
                "Rate limiting is unavailable (Redis is unreachable) and this gateway is "
                "configured to refuse requests until it returns."
            )

    async def acquire(self, subject: str, limits: Limits, member: str, now: float) -> Decision:
        keys = [
            self._link.key("rl", "req", subject),
            self._link.key("rl", "tok", subject),
            self._link.key("rl", "sum", subject),
        ]
        try:
            result = await self._link.run_script(
                ACQUIRE, keys, [now, WINDOW, limits.rpm, limits.tpm, member]
            )
        except RedisDown:
            self._unavailable()
            return await self._local.acquire(subject, limits, member, now)
        allowed, count, used = int(result[0]), int(result[1]), int(result[2])
        result = [r.decode() if isinstance(r, bytes) else r for r in result]
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

    async def charge(self, subject: str, tokens: int, member: str, now: float) -> None:
        if tokens <= 0:
            return
        keys = [self._link.key("rl", "tok", subject), self._link.key("rl", "sum", subject)]
        try:
            await self._link.run_script(CHARGE, keys, [now, WINDOW, f"{member}:{tokens}", tokens])
        except RedisDown:
            await self._local.charge(subject, tokens, member, now)
