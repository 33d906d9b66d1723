"""Rate limits: requests and tokens per minute, per caller, over a sliding minute.

A request is admitted when, in the last 60 seconds, the caller made fewer than
``rpm`` requests and used fewer than ``tpm`` tokens; admitting it counts it at
once (so concurrent requests cannot slip past the limit together), and its
tokens are counted when it completes. ``0`` means no limit.

Charging never blocks the request: :meth:`RateLimiter.charge` is synchronous and
a limiter may send charges later (the Redis one batches them);
:meth:`RateLimiter.close` sends whatever is still waiting, at shutdown.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from quantized.errors import RateLimitError

WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int = 0
    tpm: int = 0

    @property
    def active(self) -> bool:
        return self.rpm > 0 or self.tpm > 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What a limiter decided, and what the caller has left (for the x-ratelimit headers)."""

    allowed: bool
    limits: Limits
    requests_remaining: int
    requests_reset: float
    """Seconds until the oldest counted request leaves the window."""
    tokens_remaining: int
    tokens_reset: float
    retry_after: float = 0.0

    @property
    def reason(self) -> str:
        if self.limits.rpm and self.requests_remaining <= 0:
            return f"{self.limits.rpm} requests per minute"
        return f"{self.limits.tpm} tokens per minute"


class RateLimiter(ABC):
    @abstractmethod
    async def acquire(self, subject: str, limits: Limits, member: str, now: float) -> Decision:
        """Admit (and count) one request, or refuse it."""

    @abstractmethod
    def charge(self, subject: str, tokens: int, member: str, now: float) -> None:
        """Count a completed request's tokens (at once, or soon: never waits)."""

    async def close(self) -> None:  # noqa: B027 - nothing to send by default
        """Send charges still waiting (before the connection they need goes away)."""


async def admit(
    limiter: RateLimiter, subject: str, limits: Limits, member: str, now: float
) -> Decision:
    """Count one request against ``limits``, or refuse it (429 with the time to wait)."""
    decision = await limiter.acquire(subject, limits, member, now)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit reached: {decision.reason}. Try again in {decision.retry_after:.1f}s.",
            retry_after=decision.retry_after,
            decision=decision,
        )
    return decision


class RateLimited(RateLimitError):
    """A refusal by the rate limiter; ``decision`` says what is left (for response headers)."""

    def __init__(self, message: str, *, retry_after: float, decision: Decision) -> None:
        super().__init__(message, retry_after=retry_after)
        self.decision = decision
