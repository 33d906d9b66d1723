"""Rate limits shared by every instance, counted atomically in Redis.

One Lua script trims the caller's sliding minute, checks both limits and, if the
request is admitted, counts it — in one atomic step, so concurrent requests on
any number of instances cannot pass a limit together. When Redis is unavailable
the process falls back to its own limiter (or refuses requests, if configured to
fail closed).
"""

from __future__ import annotations

from quantized.errors import ServiceUnavailableError
from quantized.limits import WINDOW, Decision, Limits, RateLimiter
from quantized.limits.local import LocalLimiter
from quantized.shared.redis import RedisDown, RedisLink

ACQUIRE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local used = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  used = used + tonumber(string.match(member, ':(%d+)$'))
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local requests_reset = 0
if oldest[2] then requests_reset = tonumber(oldest[2]) + window - now end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local tokens_reset = 0
if first[2] then tokens_reset = tonumber(first[2]) + window - now end
if (rpm > 0 and count >= rpm) or (tpm > 0 and used >= tpm) then
  return {0, count, used, tostring(requests_reset), tostring(tokens_reset)}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
if count == 0 then requests_reset = window end
return {1, count + 1, used, tostring(requests_reset), tostring(tokens_reset)}
"""


class RedisLimiter(RateLimiter):
    def __init__(self, link: RedisLink, *, fail_closed: bool = False) -> None:
        self._link = link
        self._fail_closed = fail_closed
        self._local = LocalLimiter()
        self._acquire = link.script(ACQUIRE)

    def _unavailable(self) -> None:
        if self._fail_closed:
            raise ServiceUnavailableError(
                "Rate limiting is unavailable (Redis is unreachable) and this gateway is "
                "configured to refuse requests until it returns."
            )

    async def acquire(self, subject: str, limits: Limits, member: str, now: float) -> Decision:
        keys = [self._link.key("rl", "req", subject), self._link.key("rl", "tok", subject)]
        try:
            result = await self._link.call(
                lambda: self._acquire(keys=keys, args=[now, WINDOW, limits.rpm, limits.tpm, member])
            )
        except RedisDown:
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

    async def charge(self, subject: str, tokens: int, member: str, now: float) -> None:
        if tokens <= 0:
            return
        key = self._link.key("rl", "tok", subject)

        async def add() -> None:
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {f"{member}:{tokens}": now})
                pipe.pexpire(key, int(WINDOW * 1000))
                await pipe.execute()

        try:
            await self._link.call(add)
        except RedisDown:
            await self._local.charge(subject, tokens, member, now)
