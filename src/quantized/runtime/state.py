"""What a running server knows: the catalog snapshot, the key index, the JWT verifier.

Requests read it; only the synchroniser writes the catalog and keys, on the same
event loop, so a request always sees one consistent catalog and key set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quantized.auth.index import KeyIndex, bearer_token
from quantized.auth.keys import KEY_PREFIX
from quantized.auth.principal import Principal
from quantized.catalog.listing import Catalog
from quantized.errors import AuthenticationError
from quantized.usage.budgets import SpendTracker

if TYPE_CHECKING:
    from quantized.auth.jwt.verifier import JwtVerifier

_KEY_PREFIX = KEY_PREFIX.encode()


@dataclass(slots=True)
class LiveState:
    catalog: Catalog = field(default_factory=lambda: Catalog(()))
    keys: KeyIndex = field(default_factory=KeyIndex)
    jwt: JwtVerifier | None = None
    spend: SpendTracker = field(default_factory=SpendTracker)
    loaded: bool = False
    store_ok: bool = True
    """Whether the last look at the database succeeded."""

    def authenticate(
        self, authorization: bytes | None, now: float, *, may_refresh: bool = True
    ) -> Principal:
        """The caller an ``Authorization`` header identifies: an API key or a JWT.

        Raises :class:`AuthenticationError` (401), ``ServiceUnavailableError`` when an
        issuer's keys cannot be had, or ``RefreshRequired`` when a JWT names a key id
        not seen yet and ``may_refresh`` allows fetching it.
        """
        token = bearer_token(authorization)
        verifier = self.jwt
        if not token.startswith(_KEY_PREFIX) and token.count(b".") == 2:
            if verifier is not None:
                return verifier.verify(token, now, may_refresh=may_refresh)
            try:
                return self.keys.authenticate(token, now, complete=self.store_ok)
            except AuthenticationError:
                raise AuthenticationError(
                    "JWT bearer tokens are not accepted here: no trusted issuer is configured."
                ) from None
        return self.keys.authenticate(token, now, complete=self.store_ok)
