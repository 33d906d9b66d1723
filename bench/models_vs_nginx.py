"""GET /v1/models: Quantized against nginx serving the same bytes.

Starts the gateway in its default configuration (SQLite file, shipped catalog,
one worker) pinned to one core, and nginx (one worker, access log off) pinned to
the same core, serving the very same response bytes as a static file behind the
same Authorization check. wrk drives both from the other core, alternating
runs, and the medians are compared. Also reports startup time and RSS.

    python bench/models_vs_nginx.py [--runs 5] [--duration 10] [--connections 64]

Needs wrk and nginx (Debian: apt-get install wrk nginx-light) and two cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
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


def wrk(url: str, key: str, duration: int, connections: int) -> Run:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CORE,
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    if re.search(r"Non-2xx or 3xx responses", out):
        raise SystemExit(f"wrk saw errors:\n{out}")
    return Run(rps, _ms(*p50.groups()), _ms(*p99.groups()))  # type: ignore[union-attr]


def wait_for(url: str, headers: dict[str, str], timeout: float = 20) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, headers=headers, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.005)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start_gateway(workdir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTIZED_")}
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
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    location = /v1/models {{
      if ($http_authorization != "Bearer {key}") {{ return 401; }}
      default_type application/json;
      alias {dir}/models.json;
    }}
  }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install wrk nginx-light util-linux")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for the server, one for wrk")

    with tempfile.TemporaryDirectory(prefix="quantized-bench-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx workers run as an unprivileged user
        gw_port, ng_port = 18400, 18401

        # First start: migrations, shipped catalog, bootstrap key.
        gateway = start_gateway(workdir, gw_port)
        first_start = wait_for(f"http://127.0.0.1:{gw_port}/healthz", {})
        output = gateway.stdout
        if output is None:
            raise SystemExit("no gateway output")
        key = ""
        while not key:
            match = KEY_RE.search(output.readline())
            key = match.group(0) if match else ""
        first_rss, _ = rss_mib(gateway.pid)
        stop(gateway)

        # Restart (what every later start costs), timed to the first /v1/models answer.
        headers = {"Authorization": f"Bearer {key}"}
        gateway = start_gateway(workdir, gw_port)
        restart = wait_for(f"http://127.0.0.1:{gw_port}/v1/models", headers)
        body = httpx.get(f"http://127.0.0.1:{gw_port}/v1/models", headers=headers).content
        (workdir / "models.json").write_bytes(body)
        (workdir / "nginx.conf").write_text(NGINX_CONF.format(dir=workdir, port=ng_port, key=key))
        nginx = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, "nginx", "-c", str(workdir / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"http://127.0.0.1:{ng_port}/v1/models", headers)
            same = httpx.get(f"http://127.0.0.1:{ng_port}/v1/models", headers=headers).content
            if same != body:
                raise SystemExit("nginx must serve the very same bytes")
            quantized_runs: list[Run] = []
            nginx_runs: list[Run] = []
            for i in range(args.runs):
                for name, port, runs in (
                    ("quantized", gw_port, quantized_runs),
                    ("nginx", ng_port, nginx_runs),
                ):
                    run = wrk(
                        f"http://127.0.0.1:{port}/v1/models", key, args.duration, args.connections
                    )
                    runs.append(run)
                    print(
                        f"run {i + 1} {name:9} {run.rps:10.0f} req/s  p50 {run.p50_ms:.2f} ms"
                        f"  p99 {run.p99_ms:.2f} ms",
                        flush=True,
                    )
            rss, peak = rss_mib(gateway.pid)
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(10)
            stop(gateway)

    def median(runs: list[Run], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    q_rps, n_rps = median(quantized_runs, "rps"), median(nginx_runs, "rps")
    print()
    models = body.count(b'{"id"')
    print(
        f"body: {len(body)} bytes, {models} models; wrk -t1 -c{args.connections}"
        f" -d{args.duration}s x {args.runs} runs, medians"
    )
    print(f"{'':10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, runs in (("quantized", quantized_runs), ("nginx", nginx_runs)):
        print(
            f"{name:10} {median(runs, 'rps'):10.0f} {median(runs, 'p50_ms'):8.2f}"
            f" {median(runs, 'p99_ms'):8.2f}"
        )
    print(f"ratio quantized/nginx req/s: {q_rps / n_rps:.2f}  (target >= 0.5)")
    print(
        f"startup to first answer: first start {first_start:.2f} s, restart {restart:.2f} s"
        "  (target < 1 s)"
    )
    print(
        f"server RSS after load: {rss:.1f} MiB (peak {peak:.1f} MiB); after a first start"
        f" (migrations ran in a forked child): {first_rss:.1f} MiB  (target < 80 MiB)"
    )


if __name__ == "__main__":
    main()
