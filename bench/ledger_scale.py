"""The ledger at scale: 20 million usage rows on PostgreSQL, reports read from the daily
aggregates against the same reports over the raw rows, and the writer's throughput.

1. A fresh database, migrated with the project's migrations; the ledger generated with
   ``COPY usage ... FROM STDIN (FREEZE)`` in time order (the indexes and primary keys
   of ``usage`` and ``usage_daily`` dropped before and recreated after, from the
   definitions the migrations gave them, which are checked again at the end), then the
   aggregates built from the raw rows with ``INSERT ... SELECT ... GROUP BY`` (as
   migration 0009's backfill does; ``usage_daily`` a month at a time), then ``VACUUM
   ANALYZE``. Every step is timed, and the tables' sizes reported.

   The data: 20,000 callers (nine in ten API keys, the rest JWT subjects), each a person
   in one of 500 teams of uneven sizes (Zipf-like, s = 0.5: the largest about 12 times
   the mean; 15,000 people, some with several keys); caller activity Zipf-like
   (s = 0.8); 500 models with Zipf-like popularity (s = 1.1), each caller favouring a
   few; one to three upstreams per model; 13 calendar months up to now, traffic
   doubling over the period; token counts log-normal, a third of the requests with
   cache reads, costs in integer picodollars from each model's prices; 2 % errors (no
   tokens, no cost; rate limits and bad requests without an upstream); request ids
   shaped like the gateway's (``req_`` + 12 + 8 hex digits).

2. Reports, warm, ``--runs`` times each, the variants alternating: a month's report for
   one team (per person and model; the busiest team and a median one) and the all-teams
   summary of that month (per team), from the aggregates (``store.reports.spend``) and
   from the raw rows (``store.reports.spend_from_ledger``); where ``store.reports`` is
   missing, the equivalent SQL of this script. Both must give the same figures.

3. The writer, on top of the big table: ``PostgresUsageWriter`` (one statement a batch
   that writes the rows and adds them to both aggregates) with ``--inflight`` writes at
   once, against a plain ``INSERT ... SELECT FROM json_populate_recordset`` of the same
   batches (no aggregates), in alternating phases; sustained rows/s and batch latency.

    python bench/ledger_scale.py [--rows 20000000] [--runs 20] [--writer-seconds 20]
                                 [--batch 1000] [--inflight 4] [--workers 1] [--keep]
    python bench/ledger_scale.py --database NAME [--runs 0]   # again, on a kept database
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import functools
import itertools
import math
import multiprocessing
import os
import random
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from quantized.store import migrate
from quantized.store.database import create_engine, postgres_timeouts
from quantized.store.usage_writer import PostgresUsageWriter
from quantized.usage.ledger import UsageRecord

ADMIN = os.environ.get(
    "QUANTIZED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEAMS = 500
PEOPLE = 15_000
CALLERS = 20_000
JWT_CALLERS = 2_000
MODELS = 500
MONTHS = 13
ERROR_RATE = 0.02
GROWTH = 1.0  # the last day sees (1 + GROWTH) times the traffic of the first
CHUNK = 50_000  # rows a generator hands over at once
COPY_COLUMNS = (
    "id, at, day, caller_kind, caller_id, team_id, person, model, upstream, status, stream, "
    "prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, cost_pusd, "
    "latency_ms, estimated, error_code, request_id"
).split(", ")
SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "cost_pusd",
)
MAX_SUM = 2**63 - 1
SUMMED = "count(*), count(*) FILTER (WHERE status >= 400), " + ", ".join(
    f"LEAST(sum({name}), {MAX_SUM})" for name in SUMS[2:]
)
DAILY_KEY = "day, caller_kind, caller_id, team_id, person, model, upstream"
BUILD_DAILY = (
    f"INSERT INTO usage_daily ({DAILY_KEY}, {', '.join(SUMS)}) "  # noqa: S608 - constants
    "SELECT day, caller_kind, caller_id, coalesce(team_id, 0), coalesce(person, ''), model, "
    f"coalesce(upstream, ''), {SUMMED} FROM usage WHERE at >= $1 AND at < $2 "
    "GROUP BY day, caller_kind, caller_id, coalesce(team_id, 0), coalesce(person, ''), model, "
    "coalesce(upstream, '') ORDER BY day"
)
"""A month of ``usage_daily`` from the raw rows (``at`` in UTC), appended in day order as
the gateway appends it, one month at a time so that memory stays bounded at any size."""
BUILD_TEAMS = (
    f"INSERT INTO usage_team_daily (day, team_id, {', '.join(SUMS)}) "  # noqa: S608 - constants
    f"SELECT day, coalesce(team_id, 0), {SUMMED} FROM usage "
    "GROUP BY day, coalesce(team_id, 0) ORDER BY day"
)
RECORD_COLUMNS = ", ".join(f.name for f in fields(UsageRecord))
PLAIN_INSERT = (
    f"INSERT INTO usage ({RECORD_COLUMNS}) SELECT {RECORD_COLUMNS} "  # noqa: S608 - constants
    "FROM json_populate_recordset(NULL::usage, convert_from($1::bytea, 'UTF8')::json) "
    "ON CONFLICT (request_id) DO NOTHING"
)
AUTHORS = [
    "openai",
    "anthropic",
    "google",
    "meta-llama",
    "mistralai",
    "deepseek",
    "qwen",
    "x-ai",
    "cohere",
    "moonshotai",
]
# USD per million tokens (prompt); completion 4x, cache reads 0.1x, cache writes 1.25x
PROMPT_PRICES = [0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.8, 1.0, 2.5, 3.0, 5.0, 15.0]
ERRORS = [  # (status, error code, weight, has an upstream)
    (429, "rate_limited", 40, False),
    (400, "invalid_request", 15, False),
    (500, "upstream_error", 10, True),
    (502, "bad_gateway", 25, True),
    (504, "upstream_timeout", 10, True),
]


# ---------------------------------------------------------------------------- the data


def zipf_cumulative(count: int, exponent: float) -> list[float]:
    """Cumulative weights, normalised to 1, of ranks 1..count with weight rank^-exponent."""
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += rank**-exponent
        cumulative.append(total)
    return [c / total for c in cumulative]


@dataclass
class Caller:
    kind: str
    id: str
    team: int
    person: str
    text: str  # caller_kind, caller_id, team_id, person: tab-separated for COPY
    favourites: list[int]  # 16 model indices, the favourite repeated the most


@dataclass
class Model:
    name: str
    tier: int  # index in PROMPT_PRICES
    prices: tuple[int, int, int, int]  # picodollars per token: prompt, cache read/write, out
    upstreams: list[str]
    routes: list[str]  # model and upstream, tab-separated for COPY
    unrouted: str  # the model and no upstream


def tier_prices(prompt: float) -> tuple[int, int, int, int]:
    """Picodollars per token: prompt, cache read, cache write, completion."""
    return (
        round(prompt * 1e6),
        round(prompt * 0.1 * 1e6),
        round(prompt * 1.25 * 1e6),
        round(prompt * 4 * 1e6),
    )


@dataclass
class World:
    seed: int
    rows: int
    start: float  # midnight UTC, first day of the first month
    span: float  # seconds
    days: list[str]
    callers: list[Caller]
    caller_cumulative: list[float]
    models: list[Model]
    model_cumulative: list[float]
    error_cumulative: list[float]


def build_world(seed: int, rows: int, today: date) -> World:
    rng = random.Random(seed)
    first = date(today.year, today.month, 1)
    for _ in range(MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    end = (date(today.year, today.month, 28) + timedelta(days=4)).replace(day=1)
    days = [(first + timedelta(days=n)).isoformat() for n in range((end - first).days)]
    start = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
    span = min(len(days) * 86400.0, time.time() - start)  # the current month up to now

    model_cumulative = zipf_cumulative(MODELS, 1.1)
    models = []
    for i in range(MODELS):
        author = AUTHORS[i % len(AUTHORS)]
        tier = rng.randrange(len(PROMPT_PRICES))
        name = f"{author}/model-{i:03d}"
        hosts = [f"https://{author}-{k}.upstream.example/v1" for k in range(rng.randint(1, 3))]
        routes = [f"{name}\t{host}" for host in hosts]
        models.append(
            Model(name, tier, tier_prices(PROMPT_PRICES[tier]), hosts, routes, f"{name}\t\\N")
        )

    team_weights = zipf_cumulative(TEAMS, 0.5)  # uneven: the largest 12x the mean
    people = [
        (f"user-{p:05d}@corp.example", bisect.bisect_right(team_weights, rng.random()) + 1)
        for p in range(PEOPLE)
    ]
    callers = []
    for c in range(CALLERS):
        if c < CALLERS - JWT_CALLERS:  # an API key issued to a person
            kind, person, team = "key", *people[c % (PEOPLE - JWT_CALLERS)]
            ident = str(c + 1)
        else:  # a token whose subject is the person
            kind, person, team = "jwt", *people[PEOPLE - JWT_CALLERS + c % JWT_CALLERS]
            ident = person
        picks = [bisect.bisect_right(model_cumulative, rng.random()) for _ in range(4)]
        favourites = [picks[0]] * 8 + [picks[1]] * 4 + [picks[2]] * 3 + [picks[3]]
        text = f"{kind}\t{ident}\t{team}\t{person}"
        callers.append(Caller(kind, ident, team, person, text, favourites))
    rng.shuffle(callers)  # the busiest callers anywhere in the teams
    caller_cumulative = zipf_cumulative(CALLERS, 0.8)
    total = sum(e[2] for e in ERRORS)
    error_cumulative = list(itertools.accumulate(e[2] / total for e in ERRORS))
    return World(
        seed,
        rows,
        start,
        span,
        days,
        callers,
        caller_cumulative,
        models,
        model_cumulative,
        error_cumulative,
    )


@dataclass
class Shape:
    """The tokens, latency and flags of one request, drawn once and reused."""

    stream: bool
    prompt: int
    cached: int
    written: int
    completion: int
    latency_ms: float
    estimated: bool


def shapes(rng: random.Random, count: int = 8192) -> list[Shape]:
    out = []
    for _ in range(count):
        prompt = max(1, min(200_000, int(rng.lognormvariate(7.3, 1.2))))
        cached = int(prompt * rng.uniform(0.3, 0.95)) if rng.random() < 0.35 else 0
        written = int((prompt - cached) * rng.uniform(0.2, 0.9)) if rng.random() < 0.05 else 0
        completion = max(1, min(32_000, int(rng.lognormvariate(5.5, 1.0))))
        stream = rng.random() < 0.6
        latency = round(150 + completion * rng.uniform(5, 25) + prompt * 0.02, 3)
        estimated = rng.random() < 0.01
        out.append(Shape(stream, prompt, cached, written, completion, latency, estimated))
    return out


def cost(shape: Shape, prices: tuple[int, int, int, int]) -> int:
    p, read, write, out = prices
    fresh = shape.prompt - shape.cached - shape.written
    return fresh * p + shape.cached * read + shape.written * write + shape.completion * out


def shape_texts(drawn: list[Shape]) -> tuple[list[list[str]], list[str]]:
    """For COPY, per price tier and shape: stream, the four token counts, the cost, the
    latency, estimated; and per shape the same for an error (no tokens, no cost)."""
    tiers = [
        [
            f"{'t' if s.stream else 'f'}\t{s.prompt}\t{s.cached}\t{s.written}\t{s.completion}\t"
            f"{cost(s, prices)}\t{s.latency_ms}\t{'t' if s.estimated else 'f'}"
            for s in drawn
        ]
        for prices in map(tier_prices, PROMPT_PRICES)
    ]
    errors = [f"{'t' if s.stream else 'f'}\t0\t0\t0\t0\t0\t{s.latency_ms / 20}\tf" for s in drawn]
    return tiers, errors


@functools.cache
def shape_texts_of(seed: int) -> tuple[list[list[str]], list[str]]:
    return shape_texts(shapes(random.Random(seed), 4096))


WORLD: World | None = None  # set before the generators fork


def chunk_text(index: int) -> tuple[int, bytes]:
    """Rows ``index * CHUNK`` up to the next chunk, in COPY's text format."""
    world = WORLD
    assert world is not None  # noqa: S101 - set before forking
    first, last = index * CHUNK, min((index + 1) * CHUNK, world.rows)
    rng = random.Random(world.seed * 1_000_003 + index)
    rnd, bits, sqrt, right, hexadecimal = (
        rng.random,
        rng.getrandbits,
        math.sqrt,
        bisect.bisect_right,
        hex,
    )
    tiers, failed = shape_texts_of(world.seed * 16 + index % 16)
    models, days = world.models, world.days
    model_cumulative, error_cumulative = world.model_cumulative, world.error_cumulative
    start = round(world.start * 1e6)  # microseconds
    span, g = world.span * 1e6, GROWTH
    scale, per_row = 2 * g * (1 + g / 2), 1 / world.rows
    picked = rng.choices(world.callers, cum_weights=world.caller_cumulative, k=last - first)
    prefixes: dict[int, str] = {}
    lines: list[str] = []
    append = lines.append
    for i, caller in zip(range(first, last), picked, strict=True):
        at = start + int(span * (sqrt(1 + scale * (i + rnd()) * per_row) - 1) / g)
        block = i >> 20
        prefix = prefixes.get(block)
        if prefix is None:
            prefix = prefixes[block] = f"req_{block:04x}{random.Random(block).getrandbits(32):08x}"
        model = models[
            caller.favourites[bits(4)] if rnd() < 0.75 else right(model_cumulative, rnd())
        ]
        shape = bits(12)
        if rnd() < ERROR_RATE:
            status, code, _, has_upstream = ERRORS[right(error_cumulative, rnd())]
            upstream = model.routes[bits(8) % len(model.routes)] if has_upstream else model.unrouted
            append(
                f"{i + 1}\t{at}e-6\t{days[(at - start) // 86_400_000_000]}\t{caller.text}\t"
                f"{upstream}\t{status}\t{failed[shape]}\t{code}\t"
                f"{prefix}{hexadecimal(i & 0xFFFFF | 0x100000000)[3:]}\n"
            )
            continue
        append(
            f"{i + 1}\t{at}e-6\t{days[(at - start) // 86_400_000_000]}\t{caller.text}\t"
            f"{model.routes[bits(8) % len(model.routes)]}\t200\t{tiers[model.tier][shape]}\t"
            f"\\N\t{prefix}{hexadecimal(i & 0xFFFFF | 0x100000000)[3:]}\n"
        )
    return last - first, "".join(lines).encode()


class Records:
    """Usage records for the writer phase, from the same world, stamped now."""

    def __init__(self, world: World, seed: int) -> None:
        self._world = world
        self._rng = random.Random(seed)
        self._shapes = shapes(self._rng)
        self._prefix = f"req_{secrets.token_hex(6)}"
        self._count = 0

    def batch(self, size: int) -> list[UsageRecord]:
        world, rng = self._world, self._rng
        now = time.time()
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        out = []
        picked = rng.choices(world.callers, cum_weights=world.caller_cumulative, k=size)
        for caller in picked:
            self._count += 1
            m = (
                caller.favourites[rng.getrandbits(4)]
                if rng.random() < 0.75
                else bisect.bisect_right(world.model_cumulative, rng.random())
            )
            model = world.models[m]
            upstream: str | None = model.upstreams[rng.getrandbits(8) % len(model.upstreams)]
            shape = self._shapes[rng.getrandbits(13)]
            status, code, tokens = 200, None, True
            if rng.random() < ERROR_RATE:
                status, code, _, has_upstream = ERRORS[
                    bisect.bisect_right(world.error_cumulative, rng.random())
                ]
                upstream = upstream if has_upstream else None
                tokens = False
            out.append(
                UsageRecord(
                    request_id=f"{self._prefix}{self._count:08x}",
                    at=now,
                    day=day,
                    caller_kind=caller.kind,
                    caller_id=caller.id,
                    model=model.name,
                    upstream=upstream,
                    status=status,
                    stream=shape.stream,
                    prompt_tokens=shape.prompt if tokens else 0,
                    cached_tokens=shape.cached if tokens else 0,
                    cache_write_tokens=shape.written if tokens else 0,
                    completion_tokens=shape.completion if tokens else 0,
                    cost_pusd=cost(shape, model.prices) if tokens else 0,
                    latency_ms=shape.latency_ms,
                    estimated=shape.estimated and tokens,
                    error_code=code,
                    team_id=caller.team,
                    person=caller.person,
                )
            )
        return out


# ------------------------------------------------------------------------ the database


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def say(message: str) -> None:
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')} load {load}] {message}", flush=True)


@dataclass
class Schema:
    """The indexes and constraints of the ledger's tables, as the migrations made them."""

    indexes: list[tuple[str, str, str]]  # table, index, definition
    constraints: list[tuple[str, str, str]]  # table, constraint, definition


LEDGER_TABLES = ("usage", "usage_daily", "usage_team_daily")


async def schema(conn: asyncpg.Connection) -> Schema:
    indexes = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND tablename = ANY($1::text[]) ORDER BY 1, 2",
        list(LEDGER_TABLES),
    )
    constraints = await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid::regclass::text = ANY($1::text[]) ORDER BY 1, 2",
        list(LEDGER_TABLES),
    )
    return Schema([tuple(r) for r in indexes], [tuple(r) for r in constraints])


async def drop_indexes(conn: asyncpg.Connection, before: Schema, table: str) -> None:
    constrained = {name for t, name, _ in before.constraints if t == table}
    for name in constrained:
        await conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for t, name, _ in before.indexes:
        if t == table and name not in constrained:
            await conn.execute(f'DROP INDEX "{name}"')


async def create_indexes(
    conn: asyncpg.Connection, before: Schema, table: str, timings: dict[str, float]
) -> None:
    constrained = {name for t, name, _ in before.constraints if t == table}
    for t, name, definition in before.constraints:
        if t == table:
            started = time.perf_counter()
            await conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            timings[name] = time.perf_counter() - started
            say(f"  {name}: {timings[name]:.1f} s")
    for t, name, definition in before.indexes:
        if t == table and name not in constrained:
            started = time.perf_counter()
            await conn.execute(definition)
            timings[name] = time.perf_counter() - started
            say(f"  {name}: {timings[name]:.1f} s")


async def copy_ledger(conn: asyncpg.Connection, world: World, workers: int) -> float:
    """COPY the generated ledger; the generators run in ``workers`` forked processes, at
    most a few chunks ahead. Returns the generators' CPU seconds."""
    global WORLD
    WORLD = world
    chunks = math.ceil(world.rows / CHUNK)
    context = multiprocessing.get_context("fork")
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    cpu = sum(os.times()[2:4])  # children's CPU, counted once they are waited for
    with context.Pool(workers) as pool:
        pending: collections.deque[Any] = collections.deque()
        submitted = 0

        async def source() -> AsyncIterator[bytes]:
            nonlocal submitted
            done, reported = 0, 0
            while done < world.rows:
                while submitted < chunks and len(pending) < 2 * workers + 1:
                    pending.append(pool.apply_async(chunk_text, (submitted,)))
                    submitted += 1
                count, data = await loop.run_in_executor(None, pending.popleft().get)
                yield data
                done += count
                if done - reported >= 1_000_000 or done == world.rows:
                    reported = done
                    elapsed = time.perf_counter() - started
                    say(
                        f"  {done:,} rows in {elapsed:.0f} s "
                        f"({done / elapsed:,.0f} rows/s, {done / world.rows:.0%})"
                    )

        async with conn.transaction():
            await conn.execute("TRUNCATE usage")
            await conn.copy_to_table(
                "usage", source=source(), columns=COPY_COLUMNS, format="text", freeze=True
            )
        pool.close()
        pool.join()
    return sum(os.times()[2:4]) - cpu


async def sizes(conn: asyncpg.Connection) -> list[tuple[str, int, int, int, int]]:
    """(table, rows, heap bytes, index bytes, total bytes)."""
    out = []
    for table in LEDGER_TABLES:
        rows = await conn.fetchval(f'SELECT count(*) FROM "{table}"')  # noqa: S608
        heap, indexes, total = await conn.fetchrow(
            "SELECT pg_relation_size($1), pg_indexes_size($1), pg_total_relation_size($1)", table
        )
        out.append((table, rows, heap, indexes, total))
    return out


# ----------------------------------------------------------------------------- reports

SUM_COLUMNS = ", ".join(f"sum({name}) AS {name}" for name in SUMS)
RAW_SUMS = "count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors, " + ", ".join(
    f"sum({name}) AS {name}" for name in SUMS[2:]
)
# The raw rows have no index on day or team: the time range (a day wider on each side,
# whatever the ledger's day boundaries) lets PostgreSQL use ix_usage_at.
TEAM_AGGREGATE = (
    f"SELECT person, model, {SUM_COLUMNS} FROM usage_daily "  # noqa: S608 - constants
    "WHERE team_id = $1 AND day >= $2 AND day <= $3 GROUP BY person, model"
)
TEAM_RAW = (
    f"SELECT coalesce(person, '') AS person, model, {RAW_SUMS} FROM usage "  # noqa: S608
    "WHERE coalesce(team_id, 0) = $1 AND day >= $2 AND day <= $3 AND at >= $4 AND at < $5 "
    "GROUP BY 1, 2"
)
TEAMS_AGGREGATE = (
    f"SELECT team_id, {SUM_COLUMNS} FROM usage_team_daily "  # noqa: S608 - constants
    "WHERE day >= $1 AND day <= $2 GROUP BY team_id"
)
TEAMS_RAW = (
    f"SELECT coalesce(team_id, 0) AS team_id, {RAW_SUMS} FROM usage "  # noqa: S608
    "WHERE day >= $1 AND day <= $2 AND at >= $3 AND at < $4 GROUP BY 1"
)

Figures = dict[tuple[Any, ...], tuple[int, ...]]
Report = Callable[[AsyncConnection], Awaitable[Figures]]


def figures(rows: Sequence[Any], keys: Sequence[str]) -> Figures:
    out: Figures = {}
    for row in rows:
        values = row if isinstance(row, dict) else row._mapping
        out[tuple(values[k] for k in keys)] = tuple(int(values[s] or 0) for s in SUMS)
    return out


def reports_module() -> Any:
    try:
        from quantized.store import reports
    except ImportError:
        return None
    if not hasattr(reports, "spend") or not hasattr(reports, "spend_from_ledger"):
        return None
    return reports


def report_functions(start_day: str, end_day: str, team: int | None) -> tuple[Report, Report, str]:
    """(from the aggregates, from the raw rows, what runs) for a team's month (``team``) or
    the all-teams summary (``team`` None)."""
    keys = ["person", "model"] if team is not None else ["team_id"]
    reports = reports_module()
    if reports is not None:
        options: dict[str, Any] = {
            "start_day": start_day,
            "end_day": end_day,
            "group_by": ("person", "model") if team is not None else ("team",),
            "period": "month",
            "team_id": team,
        }
        names = ["period", *keys]

        async def aggregated(conn: AsyncConnection) -> Figures:
            return figures(await reports.spend(conn, **options), names)

        async def raw(conn: AsyncConnection) -> Figures:
            return figures(await reports.spend_from_ledger(conn, **options), names)

        return aggregated, raw, "store.reports"

    first = datetime.fromisoformat(start_day).replace(tzinfo=UTC).timestamp() - 86400
    after = datetime.fromisoformat(end_day).replace(tzinfo=UTC).timestamp() + 2 * 86400

    if team is not None:

        async def aggregated(conn: AsyncConnection) -> Figures:
            result = await conn.exec_driver_sql(TEAM_AGGREGATE, (team, start_day, end_day))
            return figures(result.all(), keys)

        async def raw(conn: AsyncConnection) -> Figures:
            params = (team, start_day, end_day, first, after)
            return figures((await conn.exec_driver_sql(TEAM_RAW, params)).all(), keys)

    else:

        async def aggregated(conn: AsyncConnection) -> Figures:
            result = await conn.exec_driver_sql(TEAMS_AGGREGATE, (start_day, end_day))
            return figures(result.all(), keys)

        async def raw(conn: AsyncConnection) -> Figures:
            params = (start_day, end_day, first, after)
            return figures((await conn.exec_driver_sql(TEAMS_RAW, params)).all(), keys)

    return aggregated, raw, "this script's SQL"


def months(world: World) -> list[tuple[float, float]]:
    """The generated months' bounds, as UTC timestamps."""
    firsts = [d for d in world.days if d.endswith("-01")]
    bounds = [datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp() for d in firsts]
    return list(zip(bounds, [*bounds[1:], world.start + 86400 * len(world.days)], strict=True))


def month_of(world: World) -> tuple[str, str]:
    """The last full month."""
    today = datetime.fromtimestamp(world.start + world.span, UTC).date()
    end = date(today.year, today.month, 1) - timedelta(days=1)
    return end.replace(day=1).isoformat(), end.isoformat()


@dataclass
class Timing:
    name: str
    groups: int
    aggregated: list[float]
    raw: list[float]
    same: bool


async def time_reports(url: str, world: World, runs: int) -> tuple[list[Timing], str]:
    start_day, end_day = month_of(world)
    engine = create_engine(url, statement_timeout=600)
    try:
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "SELECT team_id, sum(requests) FROM usage_team_daily "
                "WHERE day >= $1 AND day <= $2 GROUP BY team_id ORDER BY 2 DESC, 1",
                (start_day, end_day),
            )
            teams = [row[0] for row in result]
            busiest, median_team = teams[0], teams[len(teams) // 2]
            cases = [
                (f"team {busiest}'s month (busiest), per person and model", busiest),
                (f"team {median_team}'s month (median), per person and model", median_team),
                ("all teams' month, per team", None),
            ]
            out, how = [], ""
            for name, team in cases:
                aggregated, raw, how = report_functions(start_day, end_day, team)
                first_aggregated, first_raw = await aggregated(conn), await raw(conn)  # warm-up
                await aggregated(conn)
                await raw(conn)
                times: dict[str, list[float]] = {"aggregated": [], "raw": []}
                for _ in range(runs):
                    for label, report in (("aggregated", aggregated), ("raw", raw)):
                        started = time.perf_counter()
                        await report(conn)
                        times[label].append(time.perf_counter() - started)
                timing = Timing(
                    f"{name}, {start_day[:7]}",
                    len(first_aggregated),
                    times["aggregated"],
                    times["raw"],
                    first_aggregated == first_raw,
                )
                say(
                    f"  {timing.name}: {timing.groups} groups, aggregates "
                    f"{statistics.median(timing.aggregated) * 1000:.2f} ms, raw "
                    f"{statistics.median(timing.raw) * 1000:.1f} ms, same: {timing.same}"
                )
                out.append(timing)
            return out, how
    finally:
        await engine.dispose()


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


# ------------------------------------------------------------------------------ writer


class PlainWriter:
    """The same batches, one ``INSERT`` each, without the aggregates; connections kept."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._idle: list[asyncpg.Connection] = []

    async def __call__(self, records: Sequence[UsageRecord]) -> None:
        conn = self._idle.pop() if self._idle else await asyncpg.connect(self._url)
        await conn.execute(PLAIN_INSERT, orjson.dumps(list(records)))
        self._idle.append(conn)

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


@dataclass
class Phase:
    writer: str
    rows: int
    seconds: float
    latencies: list[float]


async def sustain(
    write: Callable[[Sequence[UsageRecord]], Awaitable[None]],
    records: Records,
    seconds: float,
    batch: int,
    inflight: int,
) -> tuple[int, float, list[float]]:
    """Rows written in ``seconds`` with ``inflight`` batches at once, and batch latencies."""
    deadline = time.perf_counter() + seconds
    written, latencies = 0, []

    async def loop() -> None:
        nonlocal written
        while time.perf_counter() < deadline:
            rows = records.batch(batch)
            started = time.perf_counter()
            await write(rows)
            latencies.append(time.perf_counter() - started)
            written += len(rows)

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(inflight)))
    return written, time.perf_counter() - started, latencies


async def time_writers(
    url: str, world: World, seconds: float, batch: int, inflight: int, warm: float = 60.0
) -> list[Phase]:
    engine = create_engine(url)
    aggregated = PostgresUsageWriter(engine, postgres_timeouts(5.0, 60.0))
    plain = PlainWriter(url)
    records = Records(world, world.seed + 1)
    phases = []
    try:
        # Today's aggregate rows do not exist yet when the writer starts: the first batches
        # insert them, later ones (at 10,000 requests/s every caller comes back within
        # seconds) update them in place. The warm-up is that start of a day, measured too.
        rows, elapsed, _ = await sustain(aggregated, records, warm, batch, inflight)
        phases.append(Phase("aggregates, cold (today's rows new)", rows, elapsed, []))
        say(f"  cold start: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")
        await sustain(plain, records, 1.0, batch, inflight)
        for _ in range(2):
            for name, write in (("aggregates", aggregated), ("plain", plain)):
                rows, elapsed, latencies = await sustain(
                    write, records, seconds / 2, batch, inflight
                )
                phases.append(Phase(name, rows, elapsed, latencies))
                say(
                    f"  {name}: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s, "
                    f"batch p50 {statistics.median(latencies) * 1000:.0f} ms"
                )
    finally:
        await aggregated.close()
        await plain.close()
        await engine.dispose()
    return phases


# -------------------------------------------------------------------------------- main


async def build(url: str, world: World, workers: int) -> dict[str, Any]:
    steps: dict[str, float] = {}
    engine = create_engine(url)
    started = time.perf_counter()
    await migrate.upgrade(engine)
    await engine.dispose()
    steps["migrate"] = time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'")
        before = await schema(conn)
        for table in ("usage", "usage_daily"):
            await drop_indexes(conn, before, table)
        say(f"COPY of {world.rows:,} rows ({workers} generator process(es))")
        started = time.perf_counter()
        generator_cpu = await copy_ledger(conn, world, workers)
        steps["copy"] = time.perf_counter() - started
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('usage', 'id'), $1::bigint)", world.rows
        )
        say("usage's indexes")
        indexes: dict[str, float] = {}
        started = time.perf_counter()
        await create_indexes(conn, before, "usage", indexes)
        steps["usage indexes"] = time.perf_counter() - started
        say("aggregates")
        started = time.perf_counter()
        for month_start, month_end in months(world):
            await conn.execute(BUILD_DAILY, month_start, month_end)
            say(f"  usage_daily, {datetime.fromtimestamp(month_start, UTC):%Y-%m}")
        steps["usage_daily"] = time.perf_counter() - started
        say(f"  usage_daily: {steps['usage_daily']:.1f} s")
        started = time.perf_counter()
        await conn.execute(BUILD_TEAMS)
        steps["usage_team_daily"] = time.perf_counter() - started
        say(f"  usage_team_daily: {steps['usage_team_daily']:.1f} s")
        started = time.perf_counter()
        await create_indexes(conn, before, "usage_daily", indexes)
        steps["usage_daily indexes"] = time.perf_counter() - started
        say("VACUUM ANALYZE")
        started = time.perf_counter()
        for table in LEDGER_TABLES:
            await conn.execute(f'VACUUM ANALYZE "{table}"')
        steps["vacuum analyze"] = time.perf_counter() - started
        after = await schema(conn)
        if after != before:
            raise SystemExit(f"the schema changed:\n{before}\n{after}")
        say("schema identical to the migrations'")
        return {
            "steps": steps,
            "indexes": indexes,
            "generator_cpu": generator_cpu,
            "sizes": await sizes(conn),
        }
    finally:
        await conn.close()


def mib(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB" if count < 2**30 else f"{count / 2**30:,.2f} GiB"


def print_steps(world: World, built: dict[str, Any]) -> None:
    steps = built["steps"]
    print("| step | time | rate |\n|---|---:|---:|")
    print(f"| migrate | {steps['migrate']:.1f} s | |")
    print(
        f"| COPY (text, FREEZE, no indexes) | {steps['copy']:.0f} s | "
        f"{world.rows / steps['copy']:,.0f} rows/s "
        f"(generators' CPU {built['generator_cpu']:.0f} s) |"
    )
    print(
        f"| usage's primary key and 3 indexes | {steps['usage indexes']:.0f} s | "
        + ", ".join(f"{k} {v:.0f} s" for k, v in built["indexes"].items() if "daily" not in k)
        + " |"
    )
    print(f"| usage_daily from the raw rows | {steps['usage_daily']:.0f} s | |")
    print(f"| usage_team_daily from the raw rows | {steps['usage_team_daily']:.0f} s | |")
    print(f"| usage_daily's primary key and 3 indexes | {steps['usage_daily indexes']:.0f} s | |")
    print(f"| VACUUM ANALYZE | {steps['vacuum analyze']:.0f} s | |")
    total = sum(v for k, v in steps.items() if k != "migrate")
    print(f"| total | {total:.0f} s | {world.rows / total:,.0f} rows/s |")


def print_results(
    world: World,
    built: dict[str, Any],
    timings: list[Timing],
    how: str,
    phases: list[Phase],
    args: argparse.Namespace,
) -> None:
    print(f"\n## ledger_scale.py --rows {world.rows:,} ({world.days[0]} .. {world.days[-1]})\n")
    if "steps" in built:
        print_steps(world, built)
    print("\n| table | rows | heap | indexes | total |\n|---|---:|---:|---:|---:|")
    for table, rows, heap, indexes, size in built["sizes"]:
        print(f"| {table} | {rows:,} | {mib(heap)} | {mib(indexes)} | {mib(size)} |")
    if timings:
        print_reports(timings, how, args)
    if phases:
        print_writers(phases, args)


def print_reports(timings: list[Timing], how: str, args: argparse.Namespace) -> None:
    print(f"\nReports ({how}), {args.runs} warm runs each, alternating:\n")
    print(
        "| report | groups | aggregates p50 / p95 | raw rows p50 / p95 | speedup (p50) | "
        "≤ 100 ms (p50 / p95) | same figures |\n|---|---:|---:|---:|---:|---|---|"
    )
    for t in timings:
        a, r = statistics.median(t.aggregated), statistics.median(t.raw)
        print(
            f"| {t.name} | {t.groups:,} | {a * 1000:.2f} / {p95(t.aggregated) * 1000:.2f} ms | "
            f"{r * 1000:,.0f} / {p95(t.raw) * 1000:,.0f} ms | {r / a:,.0f}x | "
            f"{'yes' if a <= 0.1 else 'NO'} / {'yes' if p95(t.aggregated) <= 0.1 else 'NO'} | "
            f"{'yes' if t.same else 'NO'} |"
        )


def print_writers(phases: list[Phase], args: argparse.Namespace) -> None:
    print(
        f"\nWriter: batches of {args.batch:,}, {args.inflight} in flight, "
        f"{args.writer_seconds:.0f} s each, two alternating phases:\n"
    )
    print("| writer | rows/s (phases) | rows/s | batch p50 / p95 | ≥ 10,000 rows/s |")
    print("|---|---:|---:|---:|---|")
    for cold in (p for p in phases if p.writer.startswith("aggregates, cold")):
        rate = cold.rows / cold.seconds
        print(
            f"| PostgresUsageWriter, the day's first {cold.seconds:.0f} s (aggregate rows new) "
            f"| | {rate:,.0f} | | {'yes' if rate >= 10_000 else 'NO'} |"
        )
    for name in ("aggregates", "plain"):
        mine = [p for p in phases if p.writer == name]
        rate = sum(p.rows for p in mine) / sum(p.seconds for p in mine)
        latencies = [x for p in mine for x in p.latencies]
        label = (
            "PostgresUsageWriter (rows + both aggregates)"
            if name == "aggregates"
            else "plain INSERT (rows only)"
        )
        print(
            f"| {label} | {' / '.join(f'{p.rows / p.seconds:,.0f}' for p in mine)} | "
            f"{rate:,.0f} | {statistics.median(latencies) * 1000:.0f} / "
            f"{p95(latencies) * 1000:.0f} ms | {'yes' if rate >= 10_000 else 'NO'} |"
        )


async def run(url: str, args: argparse.Namespace) -> None:
    world = build_world(args.seed, args.rows, datetime.now(UTC).date())
    say(f"world: {len(world.days)} days from {world.days[0]}, {len(world.callers):,} callers")
    if args.database:
        conn = await asyncpg.connect(url)
        try:
            built: dict[str, Any] = {"sizes": await sizes(conn)}
        finally:
            await conn.close()
    else:
        built = await build(url, world, args.workers)
    timings: list[Timing] = []
    how = ""
    if args.runs > 0:
        say("reports")
        timings, how = await time_reports(url, world, args.runs)
    phases: list[Phase] = []
    if args.writer_seconds > 0:
        say("writer")
        phases = await time_writers(
            url, world, args.writer_seconds, args.batch, args.inflight, args.warm_seconds
        )
    print_results(world, built, timings, how, phases, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each report (0: skip)")
    parser.add_argument(
        "--writer-seconds", type=float, default=20, help="per writer, over two phases (0: skip)"
    )
    parser.add_argument(
        "--warm-seconds",
        type=float,
        default=60,
        help="the aggregated writer's cold start, before the phases (today's rows made)",
    )
    parser.add_argument("--batch", type=int, default=1000, help="records per write")
    parser.add_argument("--inflight", type=int, default=4, help="writes at once")
    parser.add_argument("--workers", type=int, default=1, help="generator processes")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--database",
        help="measure the reports and the writer again on a database kept by an earlier run "
        "(same --rows and --seed); it is kept",
    )
    args = parser.parse_args()
    name = args.database or f"quantized_bench_{uuid.uuid4().hex[:12]}"
    url = f"{ADMIN.rsplit('/', 1)[0]}/{name}"
    if not args.database:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    say(f"database {name}")
    try:
        asyncio.run(run(url, args))
    finally:
        if args.keep or args.database:
            say(f"kept: {url}")
        else:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
