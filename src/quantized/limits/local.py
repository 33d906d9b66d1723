"""Rate limits kept in this process: exact for one instance, per instance for several."""

from __future__ import annotations

from collections import deque

from quantized.limits import WINDOW, Decision, Limits, RateLimiter


class LocalLimiter(RateLimiter):
    def __init__(self) -> None:
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[tuple[float, int]]] = {}

    def _trim(self, subject: str, now: float) -> tuple[deque[float], deque[tuple[float, int]]]:
        requests = self._requests.setdefault(subject, deque())
        tokens = self._tokens.setdefault(subject, deque())
        while requests and requests[0] <= now - WINDOW:
            requests.popleft()
        while tokens and tokens[0][0] <= now - WINDOW:
            tokens.popleft()
        return requests, tokens

    async def acquire(self, subject: str, limits: Limits, member: str, now: float) -> Decision:
        requests, tokens = self._trim(subject, now)
        used = sum(n for _, n in tokens)
        requests_reset = requests[0] + WINDOW - now if requests else 0.0
        tokens_reset = tokens[0][0] + WINDOW - now if tokens else 0.0
        over_requests = limits.rpm > 0 and len(requests) >= limits.rpm
        over_tokens = limits.tpm > 0 and used >= limits.tpm
        if over_requests or over_tokens:
            wait = max(
                requests_reset if over_requests else 0.0, tokens_reset if over_tokens else 0.0
            )
            return Decision(
                False,
                limits,
                max(0, limits.rpm - len(requests)),
                requests_reset,
                max(0, limits.tpm - used),
                tokens_reset,
                retry_after=wait,
            )
        requests.append(now)
        return Decision(
            True,
            limits,
            max(0, limits.rpm - len(requests)),
            requests[0] + WINDOW - now,
            max(0, limits.tpm - used),
            tokens_reset,
        )

    def charge(self, subject: str, tokens: int, member: str, now: float) -> None:
        if tokens > 0:
            self._tokens.setdefault(subject, deque()).append((now, tokens))
