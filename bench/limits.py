"""Rate limiting in Redis: what it costs on the listing and on the chat path.

Two gateways, one after the other, each in turn: the default configuration (no
Redis, no limits), and one with ``QUANTIZED_REDIS_URL`` and limits on every
caller (``QUANTIZED_DEFAULT_RPM``/``TPM`` set high enough never to refuse), so
every chat request runs the Lua script and charges its tokens. Measured, in one
run: ``GET /v1/models`` (gateway on core 0, wrk on core 1) and
``POST /v1/chat/completions`` to a fake upstream at 16 connections (upstream
and wrk on core 0, gateway on core 1).

    python bench/limits.py [--runs 3] [--duration 10]   # needs Redis on 127.0.0.1:6379
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import fake_upstream
from chat import BODY, LUA
from common import Run, admin_key, arguments, median, require, start_gateway, stop, wait_for, wrk

UPSTREAM_PORT, GATEWAY_PORT = 18511, 18512
HUGE = "1000000000"


def measure(work: Path, catalog: Path, runs: int, duration: int, **env: str) -> tuple[Run, Run]:
    gateway = start_gateway(
        work,
        GATEWAY_PORT,
        QUANTIZED_CATALOG_FILE=str(catalog),
        BENCH_UPSTREAM_KEY="sk-bench",
        **env,
    )
    try:
        key = admin_key(gateway)
        base = f"http://127.0.0.1:{GATEWAY_PORT}"
        wait_for(f"{base}/v1/models", {"Authorization": f"Bearer {key}"})
        listing = [wrk(f"{base}/v1/models", key, duration, 64) for _ in range(runs)]
        subprocess.run(
            ["taskset", "-a", "-p", "-c", "1", str(gateway.pid)], check=True, capture_output=True
        )
        script = work / "post.lua"
        script.write_text(LUA.format(body=BODY.decode()))
        chat = [
            wrk(f"{base}/v1/chat/completions", key, duration, 16, script=script, core="0")
            for _ in range(runs)
        ]
    finally:
        stop(gateway)
    return (
        Run(median(listing, "rps"), median(listing, "p50_ms"), median(listing, "p99_ms")),
        Run(median(chat, "rps"), median(chat, "p50_ms"), median(chat, "p99_ms")),
    )


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    upstream = fake_upstream.start(UPSTREAM_PORT)
    try:
        results = {}
        for name, settings in (
            ("no Redis, no limits", {}),
            (
                "Redis rate limits on",
                {
                    "QUANTIZED_REDIS_URL": "redis://127.0.0.1:6379/0",
                    "QUANTIZED_REDIS_PREFIX": "bench-limits",
                    "QUANTIZED_DEFAULT_RPM": HUGE,
                    "QUANTIZED_DEFAULT_TPM": HUGE,
                },
            ),
        ):
            with tempfile.TemporaryDirectory(prefix="quantized-limits-") as tmp:
                work = Path(tmp)
                catalog = work / "catalog.yaml"
                fake_upstream.write_catalog(catalog, UPSTREAM_PORT)
                results[name] = measure(work, catalog, args.runs, args.duration, **settings)
                listing, chat = results[name]
                print(
                    f"{name:22} GET /v1/models {listing.rps:9.0f} req/s   chat (16 conn) "
                    f"{chat.rps:7.0f} req/s, p50 {chat.p50_ms:.2f} ms",
                    flush=True,
                )
    finally:
        fake_upstream.stop(upstream)
    (plain_list, plain_chat), (limited_list, limited_chat) = results.values()
    print(
        f"GET /v1/models with Redis limits: {limited_list.rps / plain_list.rps:.2f} of without"
        "  (target >= 0.8)"
    )
    print(f"chat with Redis limits: {limited_chat.rps / plain_chat.rps:.2f} of without")


if __name__ == "__main__":
    main()
