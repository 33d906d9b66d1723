"""API keys in the database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.auth.api_keys import ApiKey
from quantized.store import changes
from quantized.store.changes import chunks
from quantized.store.tables import api_keys


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        digest=bytes(row.digest),
        models=tuple(row.models) if row.models is not None else None,
        is_admin=bool(row.is_admin),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rpm_limit=row.rpm_limit,
        tpm_limit=row.tpm_limit,
        team_id=row.team_id,
        person=row.person,
    )


async def insert_key(
    conn: AsyncConnection,
    *,
    name: str,
    prefix: str,
    digest: bytes,
    models: tuple[str, ...] | None,
    is_admin: bool,
    created_at: float,
    expires_at: float | None,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    team_id: int | None = None,
    person: str | None = None,
) -> ApiKey:
    result = await conn.execute(
        insert(api_keys).returning(*api_keys.c),
        {
            "name": name,
            "prefix": prefix,
            "digest": digest,
            "models": list(models) if models is not None else None,
            "is_admin": is_admin,
            "created_at": created_at,
            "expires_at": expires_at,
            "rpm_limit": rpm_limit,
            "tpm_limit": tpm_limit,
            "team_id": team_id,
            "person": person,
        },
    )
    key = _key(result.one())
    await changes.record(conn, changes.KEY, [str(key.id)])
    return key


async def all_keys(conn: AsyncConnection) -> list[ApiKey]:
    result = await conn.execute(select(api_keys).order_by(api_keys.c.id))
    return [_key(row) for row in result]


async def keys_by_id(conn: AsyncConnection, ids: Iterable[int]) -> list[ApiKey]:
    found: list[ApiKey] = []
    for chunk in chunks(list(ids)):
        result = await conn.execute(select(api_keys).where(api_keys.c.id.in_(chunk)))
        found.extend(_key(row) for row in result)
    return found


async def get_key(conn: AsyncConnection, key_id: int) -> ApiKey | None:
    found = await keys_by_id(conn, [key_id])
    return found[0] if found else None


async def key_by_digest(conn: AsyncConnection, digest: bytes) -> ApiKey | None:
    result = await conn.execute(select(api_keys).where(api_keys.c.digest == digest))
    row = result.one_or_none()
    return _key(row) if row is not None else None


async def update_key(conn: AsyncConnection, key_id: int, values: dict[str, object]) -> ApiKey:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
    await changes.record(conn, changes.KEY, [str(key_id)])
    found = await get_key(conn, key_id)
    assert found is not None  # noqa: S101 - updated in this transaction
    return found


async def count_keys(conn: AsyncConnection) -> int:
    result = await conn.execute(select(func.count()).select_from(api_keys))
    return int(result.scalar_one())


async def revoke_key(conn: AsyncConnection, key_id: int, at: float) -> ApiKey | None:
    """Mark a key revoked (keeping the first revocation time); ``None`` if there is no such key."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    if result.rowcount:
        await changes.record(conn, changes.KEY, [str(key_id)])
    return await get_key(conn, key_id)
