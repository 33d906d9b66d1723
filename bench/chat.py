"""POST /v1/chat/completions: straight to a fake upstream, and through the gateway.

The fake OpenAI-compatible upstream (bench/fake_upstream.py, answering instantly)
runs pinned to core 0, the gateway to core 1; wrk runs beside the upstream on
core 0 for both measurements. Reported: p50/p99 latency at 1 connection (and
the p50 the gateway adds), requests/s at 16 connections (and the ratio to
direct), and the time to the first byte of a stream, direct and through. With
``--source DIR`` a second gateway, from another checkout's ``src``, is measured
too, the runs alternating between the three. With ``--observability`` two more
gateways are measured alike: one with metrics off (``QUANTIZED_METRICS=false``;
the default gateway has them on) and one exporting a span per request and per
upstream attempt over OTLP/HTTP (to the fake upstream's trace sink), so the cost
of each is the difference.

With ``--shared-health`` one more runs with Redis (health shared between instances).

    python bench/chat.py [--runs 3] [--duration 10] [--source ../earlier/src] [--observability]
        [--shared-health]
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from subprocess import Popen

import fake_upstream
from common import Run, admin_key, arguments, median, require, start_gateway, stop, wait_for, wrk

UPSTREAM_PORT, GATEWAY_PORT = 18501, 18502
BODY = b'{"model":"bench/model","messages":[{"role":"user","content":"Hello there!"}]}'
STREAM_BODY = BODY[:-1] + b',"stream":true}'
LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk_post(url: str, token: str, connections: int, duration: int, script: Path) -> Run:
    """wrk beside the upstream, on core 0, POSTing the chat request."""
    return wrk(url, token, duration, connections, script=script, core="0")


def first_byte(port: int, path: str, token: str, samples: int = 300) -> float:
    """Median milliseconds from sending a streaming request to its first body byte."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(STREAM_BODY)}\r\n\r\n"
    ).encode()
    timings = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(samples):
            started = time.perf_counter()
            sock.sendall(head + STREAM_BODY)
            data = b""
            while b"data:" not in data:
                data += sock.recv(65536)
            timings.append((time.perf_counter() - started) * 1000)
            while not data.endswith(b"0\r\n\r\n"):  # the end of the chunked stream
                data += sock.recv(65536)
            time.sleep(0.002)
    return statistics.median(timings[20:])


VARIANTS = {
    "no-metrics": {"QUANTIZED_METRICS": "false"},
    "tracing": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{UPSTREAM_PORT}"},
}
"""The gateways ``--observability`` adds, by the settings that make them differ."""
SHARED_HEALTH = {
    "QUANTIZED_REDIS_URL": "redis://127.0.0.1:6379/0",
    "QUANTIZED_REDIS_PREFIX": "bench-chat",
}
"""The gateway ``--shared-health`` adds: Redis on, so upstream health (circuit breakers
read every 0.25 s), provider quotas, limits and spend are shared."""


def start(
    work: Path, port: int, catalog: Path, source: Path | None, **env: str
) -> tuple[Popen[str], str]:
    """A gateway on core 1 (with its admin key)."""
    gateway = start_gateway(
        work,
        port,
        source=source,
        QUANTIZED_CATALOG_FILE=str(catalog),
        BENCH_UPSTREAM_KEY="sk-bench",
        **env,
    )
    key = admin_key(gateway)
    subprocess.run(
        ["taskset", "-a", "-p", "-c", "1", str(gateway.pid)], check=True, capture_output=True
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", {})
    return gateway, key


def main() -> None:
    args = arguments(__doc__.splitlines()[0], observability=True)
    require("wrk", "taskset")
    gateways: dict[str, tuple[Popen[str], str, int]] = {}
    results: dict[str, list[Run]] = {}
    ttfb: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="quantized-chat-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(body=BODY.decode()))
        upstream = fake_upstream.start(UPSTREAM_PORT)
        try:
            sources: dict[str, tuple[Path | None, dict[str, str]]] = {"gateway": (None, {})}
            if args.source:
                sources["--source"] = (args.source, {})
            if args.observability:
                sources.update({name: (None, env) for name, env in VARIANTS.items()})
            if args.shared_health:
                sources["shared-health"] = (None, SHARED_HEALTH)
            if args.scheduled:
                sources["scheduled"] = (None, {})
            for offset, (name, (source, env)) in enumerate(sources.items()):
                work = Path(tmp) / name
                work.mkdir()
                catalog = fake_upstream.write_catalog(
                    work / "catalog.yaml", UPSTREAM_PORT, scheduled=name == "scheduled"
                )
                gateway, key = start(work, GATEWAY_PORT + offset, catalog, source, **env)
                gateways[name] = (gateway, key, GATEWAY_PORT + offset)
            key = gateways["gateway"][1]
            targets = {"direct": (UPSTREAM_PORT, key)}
            targets.update({name: (port, k) for name, (_, k, port) in gateways.items()})
            for _ in range(args.runs):  # alternating, so a drifting machine affects all alike
                for connections in (1, 16):
                    for name, (port, k) in targets.items():
                        url = f"http://127.0.0.1:{port}/v1/chat/completions"
                        run = wrk_post(url, k, connections, args.duration, script)
                        results.setdefault(f"{name} {connections}", []).append(run)
            for name, (port, k) in targets.items():
                ttfb[name] = first_byte(port, "/v1/chat/completions", k)
        finally:
            for gateway, _, _ in gateways.values():
                stop(gateway)
            fake_upstream.stop(upstream)
    report(results, ttfb)


def report(results: dict[str, list[Run]], ttfb: dict[str, float]) -> None:
    direct1, direct16 = results["direct 1"], results["direct 16"]
    print(
        f"direct: p50 {median(direct1, 'p50_ms'):.3f} ms at 1 connection, "
        f"{median(direct16, 'rps'):.0f} req/s at 16, first streamed byte {ttfb['direct']:.3f} ms"
    )
    for name in ttfb:
        if name == "direct":
            continue
        one, many = results[f"{name} 1"], results[f"{name} 16"]
        added = median(one, "p50_ms") - median(direct1, "p50_ms")
        ratio = median(many, "rps") / median(direct16, "rps")
        print(f"{name}:")
        print(
            f"  1 connection: p50 {median(one, 'p50_ms'):.3f} ms (p99 {median(one, 'p99_ms'):.3f})"
            f" -> added {added:.3f} ms  (target <= 0.5 ms)"
        )
        print(
            f"  16 connections: {median(many, 'rps'):.0f} req/s -> {ratio:.2f} of direct"
            "  (target >= 0.35)"
        )
        print(
            f"  stream, time to first byte: {ttfb[name]:.3f} ms -> added "
            f"{ttfb[name] - ttfb['direct']:.3f} ms  (target <= 1 ms)"
        )
    if "no-metrics" in ttfb:  # --observability: what each costs a request, at saturation
        base = median(results["no-metrics 16"], "rps")
        for name, what in (("gateway", "metrics (on by default)"), ("tracing", "tracing")):
            rps = median(results[f"{name} 16"], "rps")
            reference = base if name == "gateway" else median(results["gateway 16"], "rps")
            print(
                f"{what}: {(1 / rps - 1 / reference) * 1e6:.1f} µs of gateway CPU per request"
                f" ({rps / reference:.3f} of the throughput without it)"
            )


if __name__ == "__main__":
    main()
