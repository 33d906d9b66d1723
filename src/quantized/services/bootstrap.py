"""First start: schema, shipped catalog, first admin key."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.catalog.document import read_catalog_file
from quantized.services.catalog import SHIPPED_CATALOG, write_models
from quantized.services.keys import KeyFields, issue_key_in
from quantized.store import catalog as model_store
from quantized.store import keys as key_store
from quantized.store import migrate
from quantized.store.audit import Actor
from quantized.store.database import transaction

BOOTSTRAP_KEY_NAME = "bootstrap-admin"
_LOCK_ID = 0x51424F4F54  # "QBOOT"
FIRST_START = Actor(kind="system", id="first-start", name="first start")


@dataclass(frozen=True, slots=True)
class Prepared:
    migrated: bool
    seeded_models: int
    admin_key: str | None


async def prepare(engine: AsyncEngine, catalog_file: Path | None = None) -> Prepared:
    """Migrate, load the catalog into an empty database, and create the first admin key.

    Safe to run from several processes at once on PostgreSQL (an advisory lock
    serialises them); the second one finds the work done.
    """
    migrated = await migrate.upgrade(engine)
    seeded = 0
    async with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        if await model_store.count_models(conn) == 0:
            models = read_catalog_file(catalog_file or SHIPPED_CATALOG, now=int(time.time()))
            seeded = (await write_models(conn, FIRST_START, "model.create", models)).inserted
        admin_key = None
        if await key_store.count_keys(conn) == 0:
            issued = await issue_key_in(
                conn, FIRST_START, KeyFields(BOOTSTRAP_KEY_NAME, is_admin=True)
            )
            admin_key = issued.secret
    return Prepared(migrated=migrated, seeded_models=seeded, admin_key=admin_key)
