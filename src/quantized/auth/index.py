"""Authentication from memory: the key index the database feeds.

Requests never touch the database to authenticate. The index maps each stored
key's SHA-256 digest to the caller it identifies; the synchroniser keeps it in
step with the store. Every presented key is hashed and compared in constant time
against a stored digest (a dummy one when the key is unknown), so an unknown key
costs the same work as a known one.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from quantized.auth.api_keys import KEY_PREFIX, ApiKey, key_digest
from quantized.auth.principal import Principal
from quantized.auth.teams import Teams
from quantized.catalog.access import EVERYTHING, ModelAccess
from quantized.errors import AuthenticationError
from quantized.limits import Limits

_BEARER = b"bearer"
_KEY_PREFIX = KEY_PREFIX.encode()
_DUMMY_DIGEST = key_digest(b"quantized-dummy-digest")
_MAX_TOKEN = 8192

HOW_TO_AUTHENTICATE = "Send 'Authorization: Bearer <api-key>'."


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    principal: Principal
    expires_at: float | None
    revoked_at: float | None


def _iso(moment: float) -> str:
    return (
        dt.datetime.fromtimestamp(moment, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def bearer_token(authorization: bytes | None) -> bytes:
    """The token of an ``Authorization: Bearer <token>`` header, or a precise 401."""
    if authorization is None:
        raise AuthenticationError(f"Missing API key. {HOW_TO_AUTHENTICATE}", presented=False)
    scheme, _, token = authorization.strip().partition(b" ")
    if scheme.lower() != _BEARER:
        shown = scheme.decode("ascii", "replace")
        named = f" '{shown}'" if shown.isalnum() and len(shown) <= 16 else ""
        raise AuthenticationError(f"Unsupported authorization scheme{named}. {HOW_TO_AUTHENTICATE}")
    token = token.strip()
    if not token:
        raise AuthenticationError(f"Empty bearer token. {HOW_TO_AUTHENTICATE}")
    if len(token) > _MAX_TOKEN:
        raise AuthenticationError("Malformed bearer token: too long.")
    return token


class KeyIndex:
    """Stored API keys by digest, as the callers they authenticate."""

    __slots__ = ("_by_digest", "_digest_by_id", "_access", "teams", "version")

    def __init__(self, keys: Iterable[ApiKey] = (), teams: Teams | None = None) -> None:
        self._by_digest: dict[bytes, _Entry] = {}
        self._digest_by_id: dict[int, bytes] = {}
        self._access: dict[tuple[tuple[str, ...] | None, ...], ModelAccess] = {}
        self.teams = teams or Teams()
        """Where keys' teams are looked up (a key of a team that is gone has no team)."""
        self.version = 0
        """Changes with every key put or discarded: what was authenticated may have changed."""
        for key in keys:
            self.put(key)

    def __len__(self) -> int:
        return len(self._by_digest)

    def put(self, key: ApiKey) -> None:
        """Add or replace a key."""
        self.discard(key.id)
        team = self.teams.get(key.team_id)
        principal = Principal(
            kind="key",
            id=str(key.id),
            name=key.name,
            access=self._shared_access(key.models, team.models if team else None),
            team=team.id if team else None,
            person=key.person,
            is_admin=key.is_admin,
            limits=(
                Limits(key.rpm_limit or 0, key.tpm_limit or 0)
                if key.rpm_limit is not None or key.tpm_limit is not None
                else None
            ),
        )
        self._by_digest[key.digest] = _Entry(key.digest, principal, key.expires_at, key.revoked_at)
        self._digest_by_id[key.id] = key.digest

    def discard(self, key_id: int) -> None:
        self.version += 1
        digest = self._digest_by_id.pop(key_id, None)
        if digest is not None:
            self._by_digest.pop(digest, None)

    def _shared_access(
        self, patterns: tuple[str, ...] | None, within: tuple[str, ...] | None
    ) -> ModelAccess:
        """One ModelAccess per distinct pair of pattern sets, so rendered listings are shared."""
        if patterns is None and within is None:
            return EVERYTHING
        access = self._access.get((patterns, within))
        if access is None:
            access = self._access[(patterns, within)] = ModelAccess(patterns).intersect(within)
        return access

    def find(self, digest: bytes) -> _Entry | None:
        return self._by_digest.get(digest)

    def authenticate(
        self, token: bytes, digest: bytes, entry: _Entry | None, now: float
    ) -> Principal:
        """The caller ``token`` (whose digest and index entry were looked up) identifies, or a 401.

        Any token is looked up by digest, so keys imported from other gateways work
        whatever their prefix. The digest is compared in constant time with the stored
        one (with a dummy one when the key is unknown), so unknown keys cost the same.
        """
        stored = entry.digest if entry is not None else _DUMMY_DIGEST
        if not hmac.compare_digest(stored, digest) or entry is None:
            if token.startswith(_KEY_PREFIX):
                raise AuthenticationError("Incorrect API key provided.")
            raise AuthenticationError(
                f"Unknown bearer token: not a key of this gateway (they start with '{KEY_PREFIX}')."
            )
        if entry.revoked_at is not None:
            raise AuthenticationError(f"This API key was revoked at {_iso(entry.revoked_at)}.")
        if entry.expires_at is not None and entry.expires_at <= now:
            raise AuthenticationError(f"This API key expired at {_iso(entry.expires_at)}.")
        return entry.principal
