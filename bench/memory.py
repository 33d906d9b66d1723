"""Memory under large request bodies: 10 concurrent 30 MiB chat completions.

Starts a fake OpenAI-compatible upstream (bench/fake_upstream.py) and the gateway
in its default configuration, sends ``--clients`` concurrent chat requests whose
one message is ``--mib`` MiB of text, and reports the gateway's peak resident
memory (VmHWM) over its resident memory before the load, against the bytes of
the bodies. ``--source DIR`` runs the gateway from another checkout's ``src``
(e.g. a worktree of an earlier commit), to compare in the same run.

    python bench/memory.py [--clients 10] [--mib 30] [--source ../old/src]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
from pathlib import Path

import httpx

import fake_upstream
from common import admin_key, rss_mib, start_gateway, stop, wait_for

UPSTREAM_PORT, GATEWAY_PORT = 18511, 18512


def post(key: str, size: int) -> int:
    body = b'{"model":"bench/model","messages":[{"role":"user","content":"'
    body += b"x" * size + b'"}]}'
    response = httpx.post(
        f"http://127.0.0.1:{GATEWAY_PORT}/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=300,
    )
    return response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--mib", type=int, default=30)
    parser.add_argument("--source", type=Path, help="run the gateway from this src directory")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    env: dict[str, str] = {"BENCH_UPSTREAM_KEY": "sk-bench"}
    if args.source is not None:
        env["PYTHONPATH"] = str(args.source.resolve())
    with tempfile.TemporaryDirectory(prefix="quantized-memory-") as tmp:
        work = Path(tmp)
        catalog = fake_upstream.write_catalog(work / "catalog.json", UPSTREAM_PORT)
        upstream = fake_upstream.start(UPSTREAM_PORT)
        gateway = start_gateway(work, GATEWAY_PORT, QUANTIZED_CATALOG_FILE=str(catalog), **env)
        try:
            key = admin_key(gateway)
            wait_for(f"http://127.0.0.1:{GATEWAY_PORT}/healthz", {})
            before, _ = rss_mib(gateway.pid)
            with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                statuses = list(pool.map(lambda _: post(key, size), range(args.clients)))
            _, peak = rss_mib(gateway.pid)
        finally:
            stop(gateway)
            fake_upstream.stop(upstream)
    total = args.clients * args.mib
    grown = peak - before
    print(f"source: {args.source or 'this checkout'}; statuses: {sorted(set(statuses))}")
    print(
        f"{args.clients} concurrent bodies of {args.mib} MiB ({total} MiB): RSS before "
        f"{before:.0f} MiB, peak {peak:.0f} MiB, grown {grown:.0f} MiB = "
        f"{grown / total:.2f}x the bodies"
    )


if __name__ == "__main__":
    main()
