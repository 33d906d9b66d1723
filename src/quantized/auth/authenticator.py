"""Who is calling: the one authentication rule for every route.

A bearer value that looks like a JWT (three dot-separated segments, not our key
prefix) is verified against the trusted issuers; anything else is an API key,
looked up by digest in the in-memory index. :meth:`Authenticator.authenticate`
never does I/O, so the HTTP fast path can call it inside the parser callback;
when an answer needs I/O first (a JWT names signing keys not fetched yet, or a
key the index does not know may have been created a moment ago) it raises
:class:`~quantized.auth.refresh.RefreshRequired`, and :meth:`Authenticator.resolve`
does that I/O and asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from quantized.auth.api_keys import KEY_PREFIX, key_digest
from quantized.auth.index import KeyIndex, bearer_token
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.errors import AuthenticationError, ServiceUnavailableError

if TYPE_CHECKING:
    from quantized.auth.jwt.verifier import JwtVerifier
    from quantized.auth.lookup import KeyLookup

_KEY_PREFIX = KEY_PREFIX.encode()


class Authenticator:
    def __init__(self, complete: Callable[[], bool] = lambda: True) -> None:
        self.keys = KeyIndex()
        """Stored API keys; the synchroniser replaces and updates it."""
        self.jwt: JwtVerifier | None = None
        self.lookup: KeyLookup | None = None
        self._complete = complete
        """Whether the index can be trusted to hold every key (the store answered lately)."""

    def authenticate(
        self, authorization: bytes | None, now: float, *, may_refresh: bool = True
    ) -> Principal:
        """The caller an ``Authorization`` header identifies, or a precise 401.

        Raises ``ServiceUnavailableError`` when a credential cannot be checked right now
        (an issuer's keys, or the store, are unreachable), and :class:`RefreshRequired`
        (only if ``may_refresh``) when I/O could settle it.
        """
        token = bearer_token(authorization)
        if not token.startswith(_KEY_PREFIX) and token.count(b".") == 2:
            if self.jwt is not None:
                return self.keys.teams.join(self.jwt.verify(token, now, may_refresh=may_refresh))
            if self.keys.find(key_digest(token)) is None:
                raise AuthenticationError(
                    "JWT bearer tokens are not accepted here: no trusted issuer is configured."
                )
        digest = key_digest(token)
        entry = self.keys.find(digest)
        if entry is None:
            if not self._complete():
                raise ServiceUnavailableError(
                    "This key cannot be checked right now: the database is unreachable."
                )
            pending = self.lookup.wanted(digest) if may_refresh and self.lookup else None
            if pending is not None:
                raise RefreshRequired(pending)
        return self.keys.authenticate(token, digest, entry, now)

    async def resolve(self, authorization: bytes | None) -> Principal:
        """:meth:`authenticate`, doing the I/O it asks for first."""
        try:
            return self.authenticate(authorization, time.time())
        except RefreshRequired as pending:
            await pending.source.refetch()
            return self.authenticate(authorization, time.time(), may_refresh=False)
