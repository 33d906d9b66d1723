"""Issuing, listing and revoking API keys (shared by the CLI and the admin API)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from quantized.auth.keys import ApiKey, display_prefix, generate_key, key_digest
from quantized.catalog.access import normalise_patterns, unmatched_patterns
from quantized.errors import InvalidRequestError, NotFoundError
from quantized.store import keys as key_store
from quantized.store import models as model_store


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: the only moment its secret exists outside the caller's hands."""

    key: ApiKey
    secret: str


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200 or not cleaned.isprintable():
        raise InvalidRequestError(
            "invalid key name: use 1 to 200 printable characters", param="name"
        )
    return cleaned


async def issue_key(
    engine: AsyncEngine,
    *,
    name: str,
    models: Sequence[str] | None = None,
    expires_in: float | None = None,
    is_admin: bool = False,
) -> IssuedKey:
    """Create a key. ``models`` are ids or globs that must each match a catalog model."""
    async with engine.begin() as conn:
        return await issue_key_in(
            conn, name=name, models=models, expires_in=expires_in, is_admin=is_admin
        )


async def issue_key_in(
    conn: AsyncConnection,
    *,
    name: str,
    models: Sequence[str] | None = None,
    expires_in: float | None = None,
    is_admin: bool = False,
) -> IssuedKey:
    """:func:`issue_key` inside the caller's transaction."""
    name = _check_name(name)
    patterns = normalise_patterns(models)
    if patterns is not None:
        unknown = unmatched_patterns(patterns, await model_store.all_ids(conn))
        if unknown:
            raise InvalidRequestError(
                f"unknown model pattern {unknown[0]!r}: it matches no model in the catalog",
                param="models",
            )
    now = time.time()
    secret = generate_key()
    key = await key_store.insert_key(
        conn,
        name=name,
        prefix=display_prefix(secret),
        digest=key_digest(secret),
        models=patterns,
        is_admin=is_admin,
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    return IssuedKey(key=key, secret=secret)


async def list_keys(engine: AsyncEngine) -> list[ApiKey]:
    async with engine.connect() as conn:
        return await key_store.all_keys(conn)


async def revoke_key(engine: AsyncEngine, key_id: int) -> ApiKey:
    async with engine.begin() as conn:
        key = await key_store.revoke_key(conn, key_id, time.time())
    if key is None:
        raise NotFoundError(f"no API key with id {key_id}", param="id", code="key_not_found")
    return key
