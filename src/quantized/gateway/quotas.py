"""Provider quotas: an upstream's own requests and tokens per minute, across every instance.

An upstream may declare the limits of the provider account behind it (``rpm``,
``tpm``). They are counted by the same rate limiter as callers' limits — the
Redis one when the gateway has Redis, so the sum over every instance holds — under
the subject ``upstream:<id>``: a request is counted when it is sent, its tokens when
it ends. When an upstream is full the router tries the next one, and when every one
is full it waits (briefly) for room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quantized.limits import Limits, RateLimiter
from quantized.limits.local import LocalLimiter

if TYPE_CHECKING:
    from quantized.gateway.balance import Target


class Quotas:
    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter: RateLimiter = limiter or LocalLimiter()
        """Replaced by the shared (Redis) limiter when the runtime has one."""

    async def admit(self, target: Target, member: str, now: float) -> float:
        """Count one request to ``target`` if its quota has room (0.0), or the seconds until
        it may have some."""
        upstream = target.upstream
        if not upstream.rpm and not upstream.tpm:
            return 0.0
        limits = Limits(upstream.rpm, upstream.tpm)
        decision = await self.limiter.acquire(_subject(target), limits, member, now)
        return 0.0 if decision.allowed else max(decision.retry_after, 0.05)

    def charge(self, target: Target, tokens: int, member: str, now: float) -> None:
        """Count a finished request's tokens against ``target``'s quota."""
        if target.upstream.tpm:
            self.limiter.charge(_subject(target), tokens, member, now)


def _subject(target: Target) -> str:
    return "upstream:" + target.id
