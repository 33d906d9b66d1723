"""Real processes for tests: the CLI and the gateway server, on free ports."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

KEY_RE = re.compile(r"sk-quantized-[A-Za-z0-9_-]{43}")
PROXY_VARIABLES = ("https_proxy", "http_proxy", "no_proxy")
"""The gateway reads these (any case): a test's upstreams are reached directly."""
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quantized_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Quantized process: this one's, minus QUANTIZED_* and proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QUANTIZED_") and k.lower() not in PROXY_VARIABLES
    }
    env["QUANTIZED_DATABASE_URL"] = database_url
    env["QUANTIZED_REFRESH_INTERVAL"] = "0.2"
    env.update(extra)
    return env


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``quantized ARGS`` as a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "quantized", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"quantized {' '.join(args)} failed: {result.stderr}")
    return result


def wait_until(probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class Gateway:
    """A running ``quantized serve`` process."""

    process: subprocess.Popen[str]
    port: int
    env: dict[str, str]
    log_path: Path
    admin_key: str | None = None
    started_in: float = 0.0
    stdout: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_gateway(
    env: Mapping[str, str],
    workdir: Path,
    *args: str,
    port: int | None = None,
    open_files: int | None = None,
) -> Gateway:
    """Start ``quantized serve`` and wait until it answers ``/healthz``; ``open_files`` caps
    the process's file descriptors (soft and hard limit), as ``ulimit -n`` would."""

    def limit() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    port = port or free_port()
    log_path = workdir / f"gateway-{port}.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "quantized", "serve", "--port", str(port), *args],
            env=dict(env),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=limit,  # noqa: PLW1509 - only sets a resource limit
        )
    gateway = Gateway(process=process, port=port, env=dict(env), log_path=log_path)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gateway exited early:\n{gateway.log()}")
        try:
            return httpx.get(f"{gateway.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, timeout=20, interval=0.02)
    gateway.started_in = time.monotonic() - started
    found = KEY_RE.search(gateway.log())
    gateway.admin_key = found.group(0) if found else None
    return gateway
