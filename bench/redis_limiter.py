"""The Redis rate limiter alone: what each chat request costs it, before and after a change.

``--concurrency`` loops in one uvloop process (as a gateway's requests are) each
do what a rate-limited chat request does: ``acquire`` (the atomic script), then
charge the tokens the way the chat endpoint of that tree does it (a spawned task
awaiting ``charge`` where it is a coroutine, a plain call where it is not). The
figure is admissions per second against the Redis on 127.0.0.1:6379, with limits
too high ever to refuse, one caller (as ``bench/limits.py``'s one key).

With ``--baseline REV`` the same loops also run on the package as it was at git
revision REV (extracted to a temporary directory), alternating with the working
tree, and the medians are compared:

    python bench/redis_limiter.py --baseline HEAD~1 [--runs 5] [--duration 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HUGE = 1_000_000_000


async def loops(url: str, concurrency: int, duration: float) -> dict[str, Any]:
    import quantized
    from quantized.coordination.limits import RedisLimiter
    from quantized.coordination.redis import RedisLink
    from quantized.limits import Limits

    link = RedisLink(url, f"bench-{uuid.uuid4().hex[:8]}", timeout=1.0)
    await link.start()
    if not link.available:
        raise SystemExit(f"Redis does not answer at {url}")
    limiter = RedisLimiter(link)
    limits = Limits(rpm=HUGE, tpm=HUGE)
    background: set[asyncio.Task[Any]] = set()
    done = 0
    stop_at = time.monotonic() + duration

    async def one_caller(number: int) -> None:
        nonlocal done
        sequence = 0
        while time.monotonic() < stop_at:
            member = f"req_{number:02x}{sequence:08x}"
            sequence += 1
            now = time.time()
            decision = await limiter.acquire("key:1", limits, member, now)
            assert decision.allowed  # noqa: S101 - limits too high to refuse
            charged = limiter.charge("key:1", 120, member, now)
            if inspect.isawaitable(charged):  # the old interface: spawned, as chat.py did
                task = asyncio.ensure_future(charged)
                background.add(task)
                task.add_done_callback(background.discard)
            done += 1

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(one_caller(n) for n in range(concurrency)))
    if background:
        await asyncio.wait(background)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    close = getattr(limiter, "close", None)
    if close is not None:
        await close()
    available = link.available
    await link.stop()
    if not available:
        raise SystemExit("Redis became unavailable during the run: figures are meaningless")
    return {"ops": done / elapsed, "cpu_us": cpu / done * 1e6, "package": quantized.__file__}


def worker(url: str, concurrency: int, duration: float) -> None:
    import uvloop

    print(json.dumps(uvloop.run(loops(url, concurrency, duration))))


def measure(source: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--url", args.url]
    command += ["--concurrency", str(args.concurrency), "--duration", str(args.duration)]
    env = {"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"worker failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["package"].startswith(str(source)):
        raise SystemExit(f"measured {result['package']}, not the tree in {source}")
    return result


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare with (e.g. HEAD~1)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.url, args.concurrency, args.duration)
        return
    with tempfile.TemporaryDirectory(prefix="quantized-bench-") as tmp:
        trees = {"working tree": ROOT / "src"}
        if args.baseline:
            trees = {f"baseline {args.baseline}": extract(args.baseline, Path(tmp)), **trees}
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, source in trees.items():
                results[name].append(measure(source, args))
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(run["ops"] for run in runs)
        cpu = statistics.median(run["cpu_us"] for run in runs)
        each = ", ".join(f"{run['ops']:.0f}" for run in runs)
        print(
            f"{name:24} {medians[name]:8.0f} admissions/s at {args.concurrency} concurrent, "
            f"{cpu:5.1f} µs of gateway CPU each (median; runs: {each})",
            flush=True,
        )
    if args.baseline:
        before, after = medians.values()
        print(f"working tree vs baseline: {after / before:.2f}x")


if __name__ == "__main__":
    main()
