"""Rate limiting in Redis: what it costs on the listing and on the chat path.

Two gateways side by side: the default configuration (no Redis, no limits), and
one with ``QUANTIZED_REDIS_URL`` and limits on every caller
(``QUANTIZED_DEFAULT_RPM``/``TPM`` set high enough never to refuse), so every
chat request runs the admission script and charges its tokens. Both run all the
time, only one under load at a time; the runs alternate between them, so a
machine that slows down or speeds up during the benchmark affects both alike.
Measured: ``GET /v1/models`` (gateways on core 0, wrk on core 1) and
``POST /v1/chat/completions`` to a fake upstream at 16 connections (upstream and
wrk on core 0, gateways on core 1).

    python bench/limits.py [--runs 3] [--duration 10]   # needs Redis on 127.0.0.1:6379
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import fake_upstream
from chat import BODY, LUA
from common import Run, admin_key, arguments, median, require, start_gateway, stop, wait_for, wrk

UPSTREAM_PORT = 18511
HUGE = "1000000000"
CONFIGURATIONS = {
    "no Redis, no limits": {},
    "Redis rate limits on": {
        "QUANTIZED_REDIS_URL": "redis://127.0.0.1:6379/0",
        "QUANTIZED_REDIS_PREFIX": "bench-limits",
        "QUANTIZED_DEFAULT_RPM": HUGE,
        "QUANTIZED_DEFAULT_TPM": HUGE,
    },
}


def summary(runs: list[Run]) -> Run:
    return Run(median(runs, "rps"), median(runs, "p50_ms"), median(runs, "p99_ms"))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    upstream = fake_upstream.start(UPSTREAM_PORT)
    gateways: dict[str, tuple[subprocess.Popen[str], str, str]] = {}
    listing: dict[str, list[Run]] = {name: [] for name in CONFIGURATIONS}
    chat: dict[str, list[Run]] = {name: [] for name in CONFIGURATIONS}
    with tempfile.TemporaryDirectory(prefix="quantized-limits-") as tmp:
        try:
            for port, (name, settings) in enumerate(CONFIGURATIONS.items(), start=18512):
                work = Path(tmp) / str(port)
                work.mkdir()
                catalog = fake_upstream.write_catalog(work / "catalog.yaml", UPSTREAM_PORT)
                gateway = start_gateway(
                    work,
                    port,
                    source=args.source,
                    QUANTIZED_CATALOG_FILE=str(catalog),
                    BENCH_UPSTREAM_KEY="sk-bench",
                    **settings,
                )
                key = admin_key(gateway)
                base = f"http://127.0.0.1:{port}"
                wait_for(f"{base}/v1/models", {"Authorization": f"Bearer {key}"})
                gateways[name] = (gateway, base, key)
            script = Path(tmp) / "post.lua"
            script.write_text(LUA.format(body=BODY.decode()))
            for _ in range(args.runs):
                for name, (gateway, base, key) in gateways.items():
                    pin(gateway, "0")
                    listing[name].append(wrk(f"{base}/v1/models", key, args.duration, 64))
                    pin(gateway, "1")
                    chat[name].append(
                        wrk(
                            f"{base}/v1/chat/completions",
                            key,
                            args.duration,
                            16,
                            script=script,
                            core="0",
                        )
                    )
        finally:
            for gateway, _, _ in gateways.values():
                stop(gateway)
            fake_upstream.stop(upstream)
    for name in CONFIGURATIONS:
        lists, chats = summary(listing[name]), summary(chat[name])
        print(
            f"{name:22} GET /v1/models {lists.rps:9.0f} req/s   chat (16 conn) "
            f"{chats.rps:7.0f} req/s, p50 {chats.p50_ms:.2f} ms"
        )
    plain, limited = CONFIGURATIONS
    ratio = median(listing[limited], "rps") / median(listing[plain], "rps")
    print(f"GET /v1/models with Redis limits: {ratio:.2f} of without  (target >= 0.8)")
    ratio = median(chat[limited], "rps") / median(chat[plain], "rps")
    print(f"chat with Redis limits: {ratio:.2f} of without  (target >= 0.8)")


def pin(process: subprocess.Popen[str], core: str) -> None:
    """Move a gateway (all its threads) to ``core``."""
    subprocess.run(
        ["taskset", "-a", "-p", "-c", core, str(process.pid)], check=True, capture_output=True
    )


if __name__ == "__main__":
    main()
