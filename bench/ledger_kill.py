"""What a SIGKILL at saturation costs the usage ledger.

A fake OpenAI-compatible upstream (bench/fake_upstream.py) and wrk run on core
0, the gateway alone on core 1, its ledger on a fresh PostgreSQL database (or a
SQLite file with ``--sqlite``). wrk drives chat completions at saturation; after
``--duration`` seconds the gateway is SIGKILLed while wrk is still sending.

Counting is exact: wrk's Lua ``response()`` keeps the ``x-request-id`` and the
CLOCK_MONOTONIC time of every complete 200 answer, and hands them over at
``done()``. A request is lost when its answer arrived but its row is not in the
``usage`` table. Each run reports the requests completed, rows written, rows
lost, the rate of the last second before the kill, the rows that rate completes
in 50 ms (the README's window), and lost / that.

    python bench/ledger_kill.py [--runs 5] [--duration 4] [--connections 64] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

import fake_upstream
from chat import BODY
from common import admin_key, require, start_gateway, wait_for

UPSTREAM_PORT, GATEWAY_PORT = 18521, 18522
WINDOW = 0.05
LUA = """local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local threads = {{}}
times, ids = {{}}, {{}}
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status == 200 then
    ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC, Python's time.monotonic()
    local n = #ids + 1
    times[n] = tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
    ids[n] = headers["x-request-id"]
  end
end

function done(summary, latency, requests)
  local out = assert(io.open("{log}", "w"))
  for _, thread in ipairs(threads) do
    local t, i = thread:get("times"), thread:get("ids")
    for n = 1, #i do out:write(string.format("%.6f %s\\n", t[n], i[n])) end
  end
  out:close()
end
"""


@dataclass
class Outcome:
    completed: int
    written: int
    lost: int
    unseen: int  # rows whose answer never reached wrk (killed on the way out)
    rate: float  # answers per second in the last second before the kill
    last_window: int  # answers actually completed in the last 50 ms
    cpu_us: float  # the gateway's CPU time per answer while loaded, microseconds

    @property
    def window_rows(self) -> float:
        return self.rate * WINDOW

    @property
    def ratio(self) -> float:
        return self.lost / self.window_rows


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of load before")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="QUANTIZED_X=VALUE",
        help="a setting for the gateway (repeatable), e.g. QUANTIZED_USAGE_WRITES=1",
    )
    return parser.parse_args()


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _request_ids(url: str) -> set[str]:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        return {row[0] for row in await connection.fetch("SELECT request_id FROM usage")}
    finally:
        await connection.close()


def rows_written(database_url: str) -> set[str]:
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return {row[0] for row in connection.execute("SELECT request_id FROM usage")}
        finally:
            connection.close()
    return asyncio.run(_request_ids(database_url))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(process: subprocess.Popen[str]) -> None:
    """Keep reading the gateway's output so a full pipe never blocks it."""
    output = process.stdout
    if output is not None:
        threading.Thread(target=output.read, daemon=True).start()


def one_run(work: Path, catalog: Path, database_url: str, args: argparse.Namespace) -> Outcome:
    log = work / "answers.txt"
    script = work / "kill.lua"
    script.write_text(LUA.format(body=BODY.decode(), log=log))
    gateway = start_gateway(
        work,
        GATEWAY_PORT,
        QUANTIZED_DATABASE_URL=database_url,
        QUANTIZED_CATALOG_FILE=str(catalog),
        BENCH_UPSTREAM_KEY="sk-bench",
        **dict(setting.split("=", 1) for setting in args.set),
    )
    try:
        key = admin_key(gateway)
        drain(gateway)
        subprocess.run(
            ["taskset", "-a", "-p", "-c", "1", str(gateway.pid)], check=True, capture_output=True
        )
        wait_for(f"http://127.0.0.1:{GATEWAY_PORT}/healthz", {})
        command = ["taskset", "-c", "0", "wrk", "-t1", f"-c{args.connections}"]
        command += [f"-d{args.duration + 2:.0f}s", "-s", str(script)]
        command += ["-H", f"Authorization: Bearer {key}"]
        load = subprocess.Popen(
            [*command, f"http://127.0.0.1:{GATEWAY_PORT}/v1/chat/completions"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started_cpu = cpu_seconds(gateway.pid)
        time.sleep(args.duration)
        loaded_cpu = cpu_seconds(gateway.pid) - started_cpu
        killed_at = time.monotonic()
        gateway.kill()
        gateway.wait(10)
        load.wait(args.duration + 30)
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(10)
    answers = [line.split() for line in log.read_text().splitlines()]
    answered = {request_id for _, request_id in answers}
    times = [float(t) for t, _ in answers]
    written = rows_written(database_url)
    last_second = sum(1 for t in times if killed_at - 1.0 <= t <= killed_at)
    return Outcome(
        completed=len(answered),
        written=len(written),
        lost=len(answered - written),
        unseen=len(written - answered),
        rate=last_second / 1.0,
        last_window=sum(1 for t in times if killed_at - WINDOW <= t <= killed_at),
        cpu_us=loaded_cpu / len(answered) * 1e6,
    )


def database(args: argparse.Namespace, work: Path) -> str:
    if args.sqlite:
        return f"sqlite:///{work / 'quantized.db'}"
    name = f"quantized_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
    return f"{args.postgres.rsplit('/', 1)[0]}/{name}"


def drop(args: argparse.Namespace, url: str) -> None:
    if not args.sqlite:
        name = url.rsplit("/", 1)[1]
        asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    args = arguments()
    require("wrk", "taskset")
    upstream = fake_upstream.start(UPSTREAM_PORT)
    outcomes: list[Outcome] = []
    print(
        "run  completed  written  lost  unseen  req/s(last 1 s)  last 50 ms  lost/window"
        "  CPU µs/answer"
    )
    try:
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="quantized-kill-") as tmp:
                work = Path(tmp)
                catalog = fake_upstream.write_catalog(work / "catalog.yaml", UPSTREAM_PORT)
                url = database(args, work)
                try:
                    o = one_run(work, catalog, url, args)
                finally:
                    drop(args, url)
            outcomes.append(o)
            print(
                f"{run:>3}  {o.completed:>9}  {o.written:>7}  {o.lost:>4}  {o.unseen:>6}  "
                f"{o.rate:>15.0f}  {o.window_rows:>5.0f} ({o.last_window:>3})  {o.ratio:>11.2f}"
                f"  {o.cpu_us:>13.0f}"
            )
    finally:
        fake_upstream.stop(upstream)
    print(
        f"median: lost {statistics.median(o.lost for o in outcomes):.0f} rows, "
        f"{statistics.median(o.window_rows for o in outcomes):.0f} rows completed in the "
        f"last 50 ms, ratio {statistics.median(o.ratio for o in outcomes):.2f} "
        f"(max {max(o.ratio for o in outcomes):.2f}); gateway CPU "
        f"{statistics.median(o.cpu_us for o in outcomes):.0f} µs per answer"
    )


if __name__ == "__main__":
    main()
