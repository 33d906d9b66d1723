"""POST /v1/chat/completions: straight to a fake upstream, and through the gateway.

The fake OpenAI-compatible upstream (bench/fake_upstream.py, answering instantly)
runs pinned to core 0, the gateway to core 1; wrk runs beside the upstream on
core 0 for both measurements. Reported: p50/p99 latency at 1 connection (and
the p50 the gateway adds), requests/s at 16 connections (and the ratio to
direct), and the time to the first byte of a stream, direct and through.

    python bench/chat.py [--runs 3] [--duration 10]
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    with tempfile.TemporaryDirectory(prefix="quantized-chat-") as tmp:
        work = Path(tmp)
        script = work / "post.lua"
        script.write_text(LUA.format(body=BODY.decode()))
        catalog = work / "catalog.yaml"
        fake_upstream.write_catalog(catalog, UPSTREAM_PORT)
        upstream = fake_upstream.start(UPSTREAM_PORT)
        gateway = None
        try:
            direct = f"http://127.0.0.1:{UPSTREAM_PORT}/v1/chat/completions"
            via = f"http://127.0.0.1:{GATEWAY_PORT}/v1/chat/completions"
            gateway = start_gateway(
                work,
                GATEWAY_PORT,
                source=args.source,
                QUANTIZED_CATALOG_FILE=str(catalog),
                BENCH_UPSTREAM_KEY="sk-bench",
            )
            # the gateway on core 1 (start_gateway pins to core 0; move it)
            key = admin_key(gateway)
            subprocess.run(
                ["taskset", "-a", "-p", "-c", "1", str(gateway.pid)],
                check=True,
                capture_output=True,
            )
            wait_for(f"http://127.0.0.1:{GATEWAY_PORT}/healthz", {})
            results: dict[str, list[Run]] = {k: [] for k in ("d1", "g1", "d16", "g16")}
            for _ in range(args.runs):
                results["d1"].append(wrk_post(direct, key, 1, args.duration, script))
                results["g1"].append(wrk_post(via, key, 1, args.duration, script))
                results["d16"].append(wrk_post(direct, key, 16, args.duration, script))
                results["g16"].append(wrk_post(via, key, 16, args.duration, script))
            ttfb_direct = first_byte(UPSTREAM_PORT, "/v1/chat/completions", key)
            ttfb_via = first_byte(GATEWAY_PORT, "/v1/chat/completions", key)
        finally:
            if gateway is not None:
                stop(gateway)
            fake_upstream.stop(upstream)

    d1, g1 = results["d1"], results["g1"]
    d16, g16 = results["d16"], results["g16"]
    print(
        f"1 connection:   direct p50 {median(d1, 'p50_ms'):.3f} ms (p99 "
        f"{median(d1, 'p99_ms'):.3f}), through the gateway p50 {median(g1, 'p50_ms'):.3f} ms "
        f"(p99 {median(g1, 'p99_ms'):.3f})"
    )
    added = median(g1, "p50_ms") - median(d1, "p50_ms")
    print(f"  added latency p50: {added:.3f} ms  (target <= 0.5 ms)")
    ratio = median(g16, "rps") / median(d16, "rps")
    print(
        f"16 connections: direct {median(d16, 'rps'):.0f} req/s, through the gateway "
        f"{median(g16, 'rps'):.0f} req/s -> {ratio:.2f} of direct  (target >= 0.3)"
    )
    print(
        f"stream, time to first byte: direct {ttfb_direct:.3f} ms, through {ttfb_via:.3f} ms "
        f"-> added {ttfb_via - ttfb_direct:.3f} ms  (target <= 1 ms)"
    )


if __name__ == "__main__":
    main()
