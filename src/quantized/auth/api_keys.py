"""API key material: how keys look, how they are generated and how they are stored.

A key is ``sk-quantized-`` followed by 43 URL-safe characters (256 bits from the
operating system's CSPRNG). Only its SHA-256 digest and a short display prefix
are ever stored; the key itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

KEY_PREFIX = "sk-quantized-"
_RANDOM_BYTES = 32
_DISPLAY_CHARS = 4


def generate_key() -> str:
    """A new API key with 256 bits of randomness."""
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def key_digest(key: str | bytes) -> bytes:
    """The SHA-256 digest under which a key is stored and looked up."""
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).digest()


def display_prefix(key: str) -> str:
    """What listings show of a key: enough to recognise it, far too little to use it."""
    return key[: len(KEY_PREFIX) + _DISPLAY_CHARS]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key (never the secret itself)."""

    id: int
    name: str
    prefix: str
    digest: bytes
    models: tuple[str, ...] | None
    is_admin: bool
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    rpm_limit: int | None = None
    """Requests per minute; ``None``: the gateway's default."""
    tpm_limit: int | None = None
    """Tokens per minute; ``None``: the gateway's default."""
    team_id: int | None = None
    """The team the key was issued for, if any."""
    person: str | None = None
    """The person the key was issued to, if any (a token subject or an e-mail)."""

    def public(self) -> dict[str, Any]:
        """Everything about the key that may be shown: never the digest, never the secret."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "models": list(self.models) if self.models is not None else None,
            "is_admin": self.is_admin,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "rpm_limit": self.rpm_limit,
            "tpm_limit": self.tpm_limit,
        }
