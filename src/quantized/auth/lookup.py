"""Keys the index does not know yet: looked up once in the store, then remembered.

The index learns of keys created elsewhere (the CLI, another instance) at its
next synchronisation, a fraction of a second later; a request with such a key
in between would be refused. So an unknown key may trigger one lookup by its
digest: concurrent requests with the same key share it (single flight), a key
not found is remembered as unknown for a while (negative cache, bounded), and
lookups are rate limited (a token bucket) so that garbage keys cannot load the
database. Past the rate, an unknown key is simply refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from quantized.auth.api_keys import ApiKey

Find = Callable[[bytes], Awaitable[ApiKey | None]]


@dataclass(frozen=True, slots=True)
class PendingLookup:
    """The :class:`~quantized.auth.refresh.RefreshRequired` source for one unknown digest."""

    lookup: KeyLookup
    digest: bytes

    async def refetch(self) -> None:
        await self.lookup.fetch(self.digest)


class KeyLookup:
    def __init__(
        self,
        find: Find,
        found: Callable[[ApiKey], None],
        *,
        per_second: float = 20.0,
        forget_after: float = 10.0,
        remember: int = 10_000,
    ) -> None:
        self._find = find
        self._found = found
        self._rate = per_second
        self._tokens = per_second
        self._filled_at = 0.0
        self._forget_after = forget_after
        self._remember = remember
        self._unknown: dict[bytes, float] = {}
        """Digests looked up and not found, with when to forget them."""
        self._flights: dict[bytes, asyncio.Future[None]] = {}
        self.lookups = 0

    def wanted(self, digest: bytes) -> PendingLookup | None:
        """A lookup to make for this digest, or ``None`` (known unknown, or over the rate)."""
        now = time.monotonic()
        if digest in self._flights:
            return PendingLookup(self, digest)
        until = self._unknown.get(digest)
        if until is not None:
            if until > now:
                return None
            del self._unknown[digest]
        self._tokens = min(self._rate, self._tokens + (now - self._filled_at) * self._rate)
        self._filled_at = now
        if self._tokens < 1:
            return None
        self._tokens -= 1
        return PendingLookup(self, digest)

    async def fetch(self, digest: bytes) -> None:
        """Look the digest up (once, however many requests wait for it)."""
        flight = self._flights.get(digest)
        if flight is None:
            flight = asyncio.get_running_loop().create_future()
            self._flights[digest] = flight
            try:
                self.lookups += 1
                key = await self._find(digest)
            except BaseException as exc:
                flight.set_exception(exc)
                flight.exception()  # retrieved: waiters re-raise it, nobody else must
                raise
            finally:
                del self._flights[digest]
            if key is None:
                self._forget_old()
                self._unknown[digest] = time.monotonic() + self._forget_after
            else:
                self._found(key)
            flight.set_result(None)
            return
        await asyncio.shield(flight)

    def _forget_old(self) -> None:
        while len(self._unknown) >= self._remember:
            del self._unknown[next(iter(self._unknown))]
