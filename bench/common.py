"""What the benchmarks share: a pinned gateway process and wrk runs on the other core."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVER_CORE = "0"
LOAD_CORE = "1"
KEY_RE = re.compile(r"sk-quantized-[A-Za-z0-9_-]{43}")


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def arguments(description: str, *, observability: bool = False) -> argparse.Namespace:
    """``--runs``, ``--duration`` (seconds) and ``--connections`` for wrk; ``--source DIR``
    also measures the gateway from another checkout's ``src`` (an earlier commit, say);
    ``--observability`` (where the benchmark offers it) also measures the gateway without
    metrics and with tracing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--source", type=Path, help="also run the gateway from this src")
    if observability:
        parser.add_argument(
            "--observability",
            action="store_true",
            help="also measure the gateway with metrics off, and with tracing on",
        )
        parser.add_argument(
            "--shared-health",
            action="store_true",
            help="also measure the gateway with Redis (shared breakers, quotas, limits)",
        )
    parser.add_argument(
        "--scheduled",
        action="store_true",
        help="also measure the gateway with a price change scheduled (a year ahead) for "
        "every bench model",
    )
    return parser.parse_args()


def require(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install wrk nginx-light util-linux")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for the server, one for wrk")


def wrk(
    url: str,
    token: str,
    duration: int,
    connections: int,
    headers: Mapping[str, str] | None = None,
    *,
    script: Path | None = None,
    core: str = LOAD_CORE,
) -> Run:
    """One wrk run (on ``core``); ``headers`` are sent besides Authorization."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    if script is not None:
        extra += ["-s", str(script)]
    command = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", "-H", f"Authorization: Bearer {token}", *extra, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if rps is None or p50 is None or p99 is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return Run(float(rps.group(1)), _ms(*p50.groups()), _ms(*p99.groups()))


def median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def wait_for(url: str, headers: Mapping[str, str], timeout: float = 20) -> float:
    """Seconds until ``url`` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, headers=dict(headers), timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.005)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def rss_mib(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process, in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start_gateway(
    workdir: Path, port: int, *, source: Path | None = None, **env: str
) -> subprocess.Popen[str]:
    """``quantized serve`` in its default configuration (plus ``env``), pinned to one core;
    from another checkout's ``src`` with ``source``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QUANTIZED_")}
    environment.update(env)
    if source is not None:
        environment["PYTHONPATH"] = str(source.resolve())
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            SERVER_CORE,
            sys.executable,
            "-m",
            "quantized",
            "serve",
            "--port",
            str(port),
        ],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def admin_key(process: subprocess.Popen[str]) -> str:
    """The bootstrap key a first start prints."""
    output = process.stdout
    if output is None:
        raise SystemExit("no gateway output")
    for line in output:
        match = KEY_RE.search(line)
        if match:
            return match.group(0)
    raise SystemExit("the gateway printed no admin key")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


NGINX = """
worker_processes 1;
daemon off;
pid {dir}/nginx-{port}.pid;
error_log {dir}/nginx-{port}-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  {tuning}
  server {{
    listen 127.0.0.1:{port};
    {locations}
  }}
}}
"""
TUNED = """sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  open_file_cache max=1000 inactive=60s;"""
"""What an operator sets for static files (nginx's defaults: sendfile off, a connection
closed after 1,000 requests, so a load generator reconnects all the time)."""
NGINX_AUTH = 'if ($http_authorization != "Bearer {key}") {{ return 401; }}'


def start_nginx(
    workdir: Path, port: int, key: str, locations: str, *, tuned: bool = True
) -> subprocess.Popen[bytes]:
    """nginx (one worker, no access log) pinned to the server core, tuned as an operator
    would (:data:`TUNED`) or with nginx's defaults; every location in ``locations`` may use
    ``{auth}`` for the same Authorization check the gateway makes."""
    config = workdir / f"nginx-{port}.conf"
    body = locations.format(auth=NGINX_AUTH.format(key=key), dir=workdir)
    tuning = TUNED if tuned else "# nginx's defaults"
    config.write_text(NGINX.format(dir=workdir, port=port, locations=body, tuning=tuning))
    return subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, "nginx", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_nginx(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGQUIT)
    process.wait(10)
