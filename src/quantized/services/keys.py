"""Issuing, importing, changing and revoking API keys (shared by the CLI and the admin API)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.auth.api_keys import ApiKey, display_prefix, generate_key, key_digest
from quantized.catalog.access import normalise_patterns, unmatched_patterns
from quantized.errors import ConflictError, InvalidRequestError, NotFoundError
from quantized.store import audit
from quantized.store import catalog as model_store
from quantized.store import keys as key_store
from quantized.store import teams as team_store
from quantized.store.audit import Actor
from quantized.store.database import connection, transaction
from quantized.values import MAX_ID, is_line

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the only moment its secret exists outside the caller's hands."""

    key: ApiKey
    secret: str


def check_name(name: str) -> str:
    """1 to 200 characters without control characters, not only spaces (which are trimmed)."""
    cleaned = name.strip()
    if not cleaned or not is_line(cleaned):
        raise InvalidRequestError(
            "invalid key name: use 1 to 200 characters, no control characters", param="name"
        )
    return cleaned


def check_person(person: str, param: str = "person") -> str:
    """A person as tokens name them (a subject or an e-mail address), kept exactly:
    1 to 200 characters without control characters, not only spaces."""
    if not person.strip() or not is_line(person):
        raise InvalidRequestError(
            "invalid person: use a token subject or an e-mail address, 1 to 200 characters, "
            "no control characters",
            param=param,
        )
    return person


def public(key: ApiKey) -> dict[str, Any]:
    """What the API, the CLI and the audit log show of a key, its team and person included."""
    return {**key.public(), "team_id": key.team_id, "person": key.person}


async def check_team(conn: AsyncConnection, team_id: int | None) -> int | None:
    """``team_id``, if such a team exists (``None``: no team)."""
    if team_id is None:
        return None
    if not 0 < team_id <= MAX_ID or await team_store.get_team(conn, team_id) is None:
        raise NotFoundError(f"no team with id {team_id}", param="team_id", code="team_not_found")
    return team_id


async def check_patterns(
    conn: AsyncConnection, models: Sequence[str] | None
) -> tuple[str, ...] | None:
    """Canonical patterns, each of which must match at least one catalog model.

    A well-formed pattern that matches nothing conflicts with the catalog as it is (409):
    the request is fine, and would succeed once such a model exists.
    """
    patterns = normalise_patterns(models)
    if patterns is not None:
        unknown = unmatched_patterns(patterns, await model_store.all_ids(conn))
        if unknown:
            raise ConflictError(
                f"unknown model pattern {unknown[0]!r}: it matches no model in the catalog",
                param="models",
                code="unknown_model_pattern",
            )
    return patterns


def _not_found(key_id: int) -> NotFoundError:
    return NotFoundError(f"no API key with id {key_id}", param="id", code="key_not_found")


def _existing_id(key_id: int) -> int:
    """A key id the database could hold (larger numbers cannot name a key)."""
    if not 0 < key_id <= MAX_ID:
        raise _not_found(key_id)
    return key_id


@dataclass(frozen=True, slots=True)
class KeyFields:
    """What a new key says of itself, besides its secret (or the digest of one)."""

    name: str
    models: Sequence[str] | None = None
    """Ids or globs, each of which must match a catalog model; ``None``: every model."""
    expires_at: float | None = None
    is_admin: bool = False
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    team_id: int | None = None
    """The team the key is issued for (its callers use the models both allow)."""
    person: str | None = None
    """The person it is issued to: a token subject or an e-mail address."""

    @staticmethod
    def expiry(lifetime: float | None) -> float | None:
        """When a key with this lifetime (seconds; ``None``: forever) made now expires."""
        return time.time() + lifetime if lifetime is not None else None


async def _insert(
    conn: AsyncConnection,
    actor: Actor,
    action: str,
    fields: KeyFields,
    *,
    prefix: str,
    digest: bytes,
) -> ApiKey:
    if await key_store.key_by_digest(conn, digest) is not None:
        raise ConflictError(
            "a key with this digest already exists", param="sha256", code="key_exists"
        )
    key = await key_store.insert_key(
        conn,
        name=check_name(fields.name),
        prefix=prefix,
        digest=digest,
        models=await check_patterns(conn, fields.models),
        is_admin=fields.is_admin,
        created_at=time.time(),
        expires_at=fields.expires_at,
        rpm_limit=fields.rpm_limit,
        tpm_limit=fields.tpm_limit,
        team_id=await check_team(conn, fields.team_id),
        person=check_person(fields.person) if fields.person is not None else None,
    )
    await audit.record(conn, actor, [audit.Change(action, "key", str(key.id), None, public(key))])
    return key


async def issue_key(engine: AsyncEngine, actor: Actor, fields: KeyFields) -> IssuedKey:
    """Create a key, in a transaction of its own."""
    async with transaction(engine) as conn:
        return await issue_key_in(conn, actor, fields)


async def issue_key_in(conn: AsyncConnection, actor: Actor, fields: KeyFields) -> IssuedKey:
    """Create a key inside the caller's transaction."""
    secret = generate_key()
    key = await _insert(
        conn, actor, "key.create", fields, prefix=display_prefix(secret), digest=key_digest(secret)
    )
    return IssuedKey(key=key, secret=secret)


async def import_key(
    engine: AsyncEngine, actor: Actor, fields: KeyFields, *, sha256: str, prefix: str | None
) -> ApiKey:
    """Store a key issued elsewhere, known only by the SHA-256 of its full text."""
    digest_hex = sha256.strip().lower()
    if not _HEX_DIGEST.match(digest_hex):
        raise InvalidRequestError("sha256 must be 64 hexadecimal characters", param="sha256")
    shown = prefix.strip() if prefix else "imported"
    if not is_line(shown, limit=32):
        raise InvalidRequestError(
            "prefix must be at most 32 characters, no control characters", param="prefix"
        )
    async with transaction(engine) as conn:
        return await _insert(
            conn, actor, "key.import", fields, prefix=shown, digest=bytes.fromhex(digest_hex)
        )


async def list_keys(engine: AsyncEngine) -> list[ApiKey]:
    async with connection(engine) as conn:
        return await key_store.all_keys(conn)


async def get_key(engine: AsyncEngine, key_id: int) -> ApiKey:
    _existing_id(key_id)
    async with connection(engine) as conn:
        key = await key_store.get_key(conn, key_id)
    if key is None:
        raise _not_found(key_id)
    return key


async def update_key(
    engine: AsyncEngine, actor: Actor, key_id: int, changes: dict[str, Any]
) -> ApiKey:
    """Change ``name``, ``models`` (``None``: every model), ``expires_at`` (``None``: never),
    ``rpm_limit`` or ``tpm_limit`` (``None``: the gateway's default; 0: no limit),
    ``team_id`` or ``person`` (``None``: none)."""
    _existing_id(key_id)
    async with transaction(engine) as conn:
        before = await key_store.get_key(conn, key_id)
        if before is None:
            raise _not_found(key_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = check_name(changes["name"])
        if "models" in changes:
            patterns = await check_patterns(conn, changes["models"])
            values["models"] = list(patterns) if patterns is not None else None
        if "team_id" in changes:
            values["team_id"] = await check_team(conn, changes["team_id"])
        if "person" in changes:
            person = changes["person"]
            values["person"] = check_person(person) if person is not None else None
        for name in ("expires_at", "rpm_limit", "tpm_limit"):
            if name in changes:
                values[name] = changes[name]
        after = await key_store.update_key(conn, key_id, values) if values else before
        await audit.record(
            conn,
            actor,
            [audit.Change("key.update", "key", str(key_id), public(before), public(after))],
        )
    return after


async def revoke_key(engine: AsyncEngine, actor: Actor, key_id: int) -> ApiKey:
    _existing_id(key_id)
    async with transaction(engine) as conn:
        before = await key_store.get_key(conn, key_id)
        if before is None:
            raise _not_found(key_id)
        after = await key_store.revoke_key(conn, key_id, time.time())
        assert after is not None  # noqa: S101 - it existed a moment ago, in this transaction
        await audit.record(
            conn,
            actor,
            [audit.Change("key.revoke", "key", str(key_id), public(before), public(after))],
        )
    return after
