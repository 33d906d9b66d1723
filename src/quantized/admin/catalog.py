"""Importing, exporting and listing the stored catalog (shared by the CLI and the admin API)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from quantized.catalog.model import Model
from quantized.store import models as model_store

SHIPPED_CATALOG = Path(__file__).resolve().parent.parent / "data" / "catalog.yaml"


@dataclass(frozen=True, slots=True)
class ImportResult:
    inserted: int
    updated: int


async def import_models(engine: AsyncEngine, entries: Sequence[Model]) -> ImportResult:
    """Upsert models in one transaction: all of them or none."""
    async with engine.begin() as conn:
        inserted, updated = await model_store.upsert_models(conn, entries)
    return ImportResult(inserted, updated)


async def stored_models(engine: AsyncEngine) -> list[Model]:
    async with engine.connect() as conn:
        return await model_store.all_models(conn)
