"""Ways to insert a batch of usage rows into PostgreSQL: time and the gateway's CPU.

One asyncpg connection to a fresh, migrated database; batches of 100, 1,000 and
5,000 rows, every method in turn on each round (the table is emptied between
rounds), each with ``ON CONFLICT (request_id) DO NOTHING``:

- executemany: one INSERT per row, in a transaction (the ledger before this change)
- unnest: one INSERT ... SELECT FROM unnest($1::text[], $2::float8[], ...)
- copy: COPY (copy_records_to_table) into a temporary table, then INSERT ... SELECT
- json: one INSERT ... SELECT FROM json_populate_recordset($1) (what the ledger sends)

Reported: median wall time per batch and the client's CPU time per row (the CPU
the gateway's core spends; the database's own work is on the other side).

    python bench/ledger_insert.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import fields

import asyncpg

from quantized.store import migrate
from quantized.store.database import create_engine
from quantized.store.usage import insert_asyncpg
from quantized.usage.ledger import UsageRecord

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NAMES = [f.name for f in fields(UsageRecord)]
ROW = operator.attrgetter(*NAMES)
TYPES = ["text", "float8", "text", "text", "text", "text", "text", "int4", "bool"]
TYPES += ["int8", "int8", "int8", "int8", "int8", "float8", "bool", "text"]
COLUMNS = ", ".join(NAMES)
TAIL = " ON CONFLICT (request_id) DO NOTHING"
MARKS = ", ".join(f"${i + 1}" for i in range(len(NAMES)))
EXECUTEMANY = f"INSERT INTO usage ({COLUMNS}) VALUES ({MARKS})"  # noqa: S608 - constants
ARRAYS = ", ".join(f"${i + 1}::{kind}[]" for i, kind in enumerate(TYPES))
UNNEST = f"INSERT INTO usage ({COLUMNS}) SELECT * FROM unnest({ARRAYS})"  # noqa: S608
TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS usage_in ON COMMIT DELETE ROWS "  # noqa: S608 - constants
    f"AS SELECT {COLUMNS} FROM usage WITH NO DATA"
)
FROM_TEMP = f"INSERT INTO usage ({COLUMNS}) SELECT {COLUMNS} FROM usage_in"  # noqa: S608

Method = Callable[[asyncpg.Connection, list[UsageRecord]], Awaitable[None]]


def batch(size: int) -> list[UsageRecord]:
    prefix = uuid.uuid4().hex[:12]
    return [
        UsageRecord(
            f"req_{prefix}{n:08x}",
            time.time(),
            "2026-11-25",
            "key",
            "3",
            "bench/model",
            "http://127.0.0.1:18501/v1",
            200,
            False,
            12,
            0,
            0,
            9,
            42_000_000,
            1.234,
            False,
            None,
        )  # fmt: skip
        for n in range(size)
    ]


async def executemany(conn: asyncpg.Connection, records: list[UsageRecord]) -> None:
    async with conn.transaction():
        await conn.executemany(EXECUTEMANY + TAIL, list(map(ROW, records)))


async def unnest(conn: asyncpg.Connection, records: list[UsageRecord]) -> None:
    await conn.execute(UNNEST + TAIL, *([getattr(r, n) for r in records] for n in NAMES))


async def copy(conn: asyncpg.Connection, records: list[UsageRecord]) -> None:
    async with conn.transaction():
        await conn.execute(TEMP)
        await conn.copy_records_to_table("usage_in", records=list(map(ROW, records)), columns=NAMES)
        await conn.execute(FROM_TEMP + TAIL)


METHODS: dict[str, Method] = {
    "executemany": executemany,
    "unnest": unnest,
    "copy": copy,
    "json": insert_asyncpg,
}


async def measure(url: str, rounds: int) -> None:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(url)
    await conn.execute("SET client_min_messages = warning")  # CREATE ... IF NOT EXISTS
    try:
        print("rows   method        wall ms (median)   client CPU µs/row")
        for size in (100, 1000, 5000):
            wall: dict[str, list[float]] = {name: [] for name in METHODS}
            cpu: dict[str, list[float]] = {name: [] for name in METHODS}
            for _ in range(rounds):
                for name, method in METHODS.items():
                    records = batch(size)
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    await method(conn, records)
                    wall[name].append(time.perf_counter() - started)
                    cpu[name].append(time.thread_time() - started_cpu)
                await conn.execute("TRUNCATE usage")
            for name in METHODS:
                print(
                    f"{size:>5}  {name:<12}  {statistics.median(wall[name]) * 1000:>16.2f}"
                    f"   {statistics.median(cpu[name]) / size * 1e6:>17.2f}"
                )
    finally:
        await conn.close()


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    name = f"quantized_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(measure(f"{ADMIN.rsplit('/', 1)[0]}/{name}", args.rounds))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
