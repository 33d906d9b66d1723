"""Circuit breakers every instance shares, in Redis.

One hash holds the breakers that are not closed (upstream id → until when it is
open, in milliseconds). Every instance reads it every ``interval`` (0.25 s), so an
upstream that fails on one instance is skipped by all within a second; the
instance that saw the failure knows at once. Failures are counted in one counter
per upstream that expires with the window, so failures on different instances add
up. A half-open breaker's probe is claimed with ``SET NX``: one instance sends it.

While Redis is unreachable each instance keeps its own breakers (the process
kind's rules), and reads the shared ones again when it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from quantized.coordination.redis import RedisDown, RedisLink
from quantized.errors import ServiceUnavailableError
from quantized.gateway.health import BreakerRules, Breakers

log = logging.getLogger("quantized.coordination")

FAIL = """
local now, window, threshold = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cooldown, forced = tonumber(ARGV[5]), ARGV[6] == '1'
local opens = 0
if forced then
  opens = now + cooldown
else
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('PEXPIRE', KEYS[2], window) end
  if n >= threshold then opens = now + cooldown end
end
if opens == 0 then return 0 end
redis.call('DEL', KEYS[2])
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if opens > current then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', opens))
  return opens
end
return current
"""


class SharedBreakers(Breakers):
    def __init__(self, link: RedisLink, rules: BreakerRules, interval: float = 0.25) -> None:
        super().__init__(rules)
        self._link = link
        self._interval = interval
        self._hash = link.key("health")
        self._task: asyncio.Task[None] | None = None

    def _keys(self, uid: str) -> tuple[str, str, str]:
        return (
            self._hash,
            self._link.key("health", uid, "failures"),
            self._link.key("health", uid, "probe"),
        )

    async def probe(self, uid: str, now: float) -> bool:
        try:
            claimed = await self._link.command(
                "SET", self._keys(uid)[2], "1", "NX", "PX", int(self.rules.probe_timeout * 1000)
            )
        except RedisDown:
            return await super().probe(uid, now)
        if claimed is None:
            return False
        self._probes[uid] = now + self.rules.probe_timeout
        return True

    async def release(self, uid: str) -> None:
        if self._probes.pop(uid, None) is not None:
            with contextlib.suppress(RedisDown):  # else the claim lapses by itself
                await self._link.command("DEL", self._keys(uid)[2])

    async def failed(
        self, uid: str, now: float, cooldown: float | None = None, *, probe: bool = False
    ) -> float | None:
        probing = probe and self._probes.pop(uid, None) is not None
        forced = cooldown is not None or probing
        seconds = self.rules.cooldown if cooldown is None else cooldown
        health, failures, claim = self._keys(uid)
        try:
            opens = await self._link.run_script(
                FAIL,
                [health, failures],
                [
                    uid,
                    int(now * 1000),
                    max(int(self.rules.window * 1000), 1),
                    self.rules.failures,
                    int(seconds * 1000),
                    "1" if forced else "0",
                ],
            )
            if probing:
                await self._link.command("DEL", claim)
        except RedisDown:
            if probing:
                self._probes[uid] = now  # the process kind's rules: this probe failed
            return await super().failed(uid, now, cooldown, probe=probing)
        if not opens:
            self._count(uid, now)  # for the admin API's view of this process
            return None
        until = int(opens) / 1000
        self._opened(uid, until)
        return until

    async def succeeded(self, uid: str, probe: bool) -> None:
        if not probe:
            return
        self._probes.pop(uid, None)
        self._closed(uid)
        await self._forget(uid)

    async def reset(self, uid: str) -> None:
        """Close the breaker everywhere, or 503 if Redis cannot be told."""
        await super().reset(uid)
        health, failures, probe = self._keys(uid)
        try:
            await self._link.command("HDEL", health, uid)
            await self._link.command("DEL", failures, probe)
        except RedisDown:
            raise ServiceUnavailableError(
                "Redis, which shares the breakers between instances, is unreachable: the "
                "upstream's breaker could not be closed everywhere.",
                code="redis_unavailable",
            ) from None

    async def _forget(self, uid: str) -> None:
        with contextlib.suppress(RedisDown):
            health, failures, probe = self._keys(uid)
            await self._link.command("HDEL", health, uid)
            await self._link.command("DEL", failures, probe)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name="quantized-upstream-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> None:
        """Read every instance's breakers (those not closed) into this process's view."""
        found = await self._link.command("HGETALL", self._hash)
        pairs = found if isinstance(found, list) else []
        view: dict[str, float] = {}
        for i in range(0, len(pairs) - 1, 2):
            key, value = pairs[i], pairs[i + 1]
            uid = key.decode() if isinstance(key, bytes) else str(key)
            with contextlib.suppress(ValueError):
                view[uid] = int(value) / 1000
        self.open_until = view
        for uid in [uid for uid in self._probes if uid not in view]:
            del self._probes[uid]  # closed by another instance's probe, or reset

    async def _follow(self) -> None:
        while True:
            try:
                await self.refresh()
            except RedisDown:
                pass
            except Exception:  # keep following: a bad entry must not end it
                log.exception("reading the shared upstream breakers failed")
            await asyncio.sleep(self._interval)
