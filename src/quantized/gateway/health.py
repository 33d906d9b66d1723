"""Circuit breakers: an upstream that keeps failing is left alone for a while.

An upstream that fails (it could not be reached, did not answer in time, answered
5xx or 429, or refused the gateway's credentials) ``failures`` times within
``window`` seconds is **open** for ``cooldown`` seconds: requests skip it. A 429
with a ``Retry-After`` opens it at once, for that long. Once the cooldown is over it
is **half-open**: one request (the probe) is let through, the others still skip it;
if the probe is served the breaker **closes**, if it fails it opens again. A probe
that never ends frees its place after ``probe_timeout``.

:class:`Breakers` keeps this in the process. The shared kind
(``quantized.coordination.health``) keeps it in Redis, so that every instance stops
sending to an upstream within a second of its failing, and probes it once.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger("quantized.gateway")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True, slots=True)
class BreakerRules:
    failures: int = 5
    window: float = 30.0
    cooldown: float = 30.0
    probe_timeout: float = 60.0


class Breakers:
    """Every upstream's breaker, by upstream id, in this process."""

    def __init__(self, rules: BreakerRules | None = None) -> None:
        self.rules = rules or BreakerRules()
        self.open_until: dict[str, float] = {}
        """The breakers not closed: until when each is open (past: half-open)."""
        self._recent: dict[str, deque[float]] = {}
        self._probes: dict[str, float] = {}
        """This process's probes in flight, and when each frees its place."""

    def state(self, uid: str, now: float) -> str:
        until = self.open_until.get(uid)
        if until is None:
            return CLOSED
        return OPEN if now < until else HALF_OPEN

    def retry_in(self, uid: str, now: float) -> float:
        """Seconds until the breaker of ``uid`` lets a request through (0: it does)."""
        return max(self.open_until.get(uid, 0.0) - now, 0.0)

    async def probe(self, uid: str, now: float) -> bool:
        """Claim the one probe of a half-open breaker; ``False``: another request has it."""
        frees = self._probes.get(uid)
        if frees is not None and now < frees:
            return False
        self._probes[uid] = now + self.rules.probe_timeout
        return True

    async def release(self, uid: str) -> None:
        """Give up a probe claimed with :meth:`probe` that neither succeeded nor failed (the
        request ended otherwise): another request may probe at once."""
        self._probes.pop(uid, None)

    async def failed(
        self, uid: str, now: float, cooldown: float | None = None, *, probe: bool = False
    ) -> float | None:
        """An attempt on ``uid`` failed (``cooldown``: the upstream asked for that long
        before the next; ``probe``: it was the half-open breaker's probe); until when its
        breaker is open, if this opened it."""
        probing = probe and self._probes.pop(uid, None) is not None
        if cooldown is None and not probing and not self._count(uid, now):
            return None
        until = now + (self.rules.cooldown if cooldown is None else cooldown)
        self._opened(uid, until)
        return until

    async def succeeded(self, uid: str, probe: bool) -> None:
        """An attempt on ``uid`` was served; a probe's success closes its breaker."""
        if probe:
            self._probes.pop(uid, None)
            self._closed(uid)

    async def reset(self, uid: str) -> None:
        """Close the breaker of ``uid`` (an admin's decision), forgetting its failures (with
        shared breakers: everywhere, or a 503)."""
        self._probes.pop(uid, None)
        self._closed(uid)

    def failures(self, uid: str, now: float) -> int:
        """Failures of ``uid`` within the window, as this process counted them."""
        recent = self._recent.get(uid)
        if not recent:
            return 0
        return sum(1 for at in recent if at > now - self.rules.window)

    async def start(self) -> None:  # noqa: B027 - nothing to watch in one process
        """Begin following the shared state."""

    async def stop(self) -> None:  # noqa: B027
        """Stop following it."""

    def _count(self, uid: str, now: float) -> bool:
        """Count a failure; whether the breaker should open."""
        recent = self._recent.setdefault(uid, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.rules.window:
            recent.popleft()
        return len(recent) >= self.rules.failures

    def _opened(self, uid: str, until: float) -> None:
        if until > self.open_until.get(uid, 0.0):
            self.open_until[uid] = until
        self._recent.pop(uid, None)

    def _closed(self, uid: str) -> None:
        self.open_until.pop(uid, None)
        self._recent.pop(uid, None)
