"""What observability costs a request, in instructions: callgrind counts them, not seconds.

On a shared two-core machine, requests/s of two gateways measured a minute apart
differ by 10-20 % from noise alone, more than what metrics cost. Instructions
executed are repeatable: each gateway runs under ``valgrind --tool=callgrind``
with counting off until it has served ``--warmup`` chat requests (caches filled,
connections open), then counts every instruction of every thread (the usage
ledger's writes included) over ``--requests`` requests sent one after another on
one keep-alive connection to the instant fake upstream, and the count per
request is reported for each configuration: metrics off, metrics on (the
default), metrics on with tracing (spans exported over OTLP/HTTP to the fake
upstream's trace sink), and with ``--source DIR`` the default gateway from
another checkout.

    python bench/instructions.py [--requests 1000] [--source ../earlier/src]

Needs valgrind (Debian: apt-get install valgrind). Takes about a minute per
configuration.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import fake_upstream
from common import KEY_RE

UPSTREAM_PORT, GATEWAY_PORT = 18801, 18802
BODY = b'{"model":"bench/model","messages":[{"role":"user","content":"Hello there!"}]}'
CONFIGURATIONS = {
    "metrics off": {"QUANTIZED_METRICS": "false"},
    "metrics on (default)": {},
    "metrics and tracing": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{UPSTREAM_PORT}"},
}


def count(work: Path, env: dict[str, str], warmup: int, requests: int, source: Path | None) -> int:
    """Instructions the gateway executed for ``requests`` chat requests."""
    out = work / "callgrind.out"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QUANTIZED_")}
    environment.update(
        QUANTIZED_CATALOG_FILE=str(fake_upstream.write_catalog(work / "c.yaml", UPSTREAM_PORT)),
        QUANTIZED_DATABASE_URL=f"sqlite:///{work / 'q.db'}",
        BENCH_UPSTREAM_KEY="sk-bench",
        **env,
    )
    if source is not None:
        environment["PYTHONPATH"] = str(source.resolve())
    log = (work / "log").open("w")
    gateway = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "quantized",
            "serve",
            "--port",
            str(GATEWAY_PORT),
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{GATEWAY_PORT}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise SystemExit(f"the gateway did not start: {(work / 'log').read_text()}")
            time.sleep(0.5)
        found = KEY_RE.search((work / "log").read_text())
        if found is None:
            raise SystemExit("no admin key in the gateway's log")
        headers = {"Authorization": f"Bearer {found.group(0)}", "content-type": "application/json"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(warmup):
                client.post("/v1/chat/completions", content=BODY).raise_for_status()
            control("-i", "on", gateway.pid)
            for _ in range(requests):
                client.post("/v1/chat/completions", content=BODY).raise_for_status()
            control("-i", "off", gateway.pid)
            control("-d", gateway.pid)
    finally:
        gateway.send_signal(signal.SIGINT)
        gateway.wait(60)
        log.close()
    totals = [
        int(match)
        for dump in work.glob("callgrind.out*")
        for match in re.findall(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M)
    ]
    return max(totals)


def control(*args: str | int) -> None:
    subprocess.run(["callgrind_control", *map(str, args)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--source", type=Path, help="also count the gateway from this src")
    args = parser.parse_args()
    configurations: dict[str, tuple[dict[str, str], Path | None]] = {
        name: (env, None) for name, env in CONFIGURATIONS.items()
    }
    if args.source is not None:
        configurations["--source (default)"] = ({}, args.source)
    upstream = fake_upstream.start(UPSTREAM_PORT)
    results: dict[str, float] = {}
    try:
        for name, (env, source) in configurations.items():
            with tempfile.TemporaryDirectory(prefix="quantized-instructions-") as tmp:
                total = count(Path(tmp), env, args.warmup, args.requests, source)
            results[name] = total / args.requests
            print(f"{name:22} {results[name] / 1000:8.1f} k instructions per request", flush=True)
    finally:
        fake_upstream.stop(upstream)
    base = results["metrics off"]
    print()
    for name, per_request in results.items():
        print(f"{name:22} {per_request / base:6.3f} of 'metrics off'")


if __name__ == "__main__":
    main()
