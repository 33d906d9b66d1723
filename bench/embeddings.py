"""POST /v1/embeddings: straight to a fake upstream, and through the gateway.

As bench/chat.py: the fake upstream (bench/fake_upstream.py, answering instantly
with one 1,536-value vector, as text-embedding-3-small gives) runs on core 0,
the gateway on core 1, wrk beside the upstream on core 0 for every measurement,
the runs alternating between direct and through. Two answers: base64 (8 KB, what
the official SDKs ask for unless told otherwise) and floats (32 KB), both relayed
byte for byte, only their usage read. Measured: p50/p99 at 1 connection and the
p50 added (base64); requests/s at 16 connections and the ratio to direct (both);
the gateway's CPU time a request. It takes about ``runs x 6 x duration`` seconds
(``--source DIR``: ``runs x 9 x duration``).

    python bench/embeddings.py [--runs 3] [--duration 10] [--source ../earlier/src]
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from common import Run, arguments, median, require
from messages import Case, measure, serving

UPSTREAM_PORT, GATEWAY_PORT = 18521, 18522
BODIES = {
    encoding: b'{"model":"bench/embed","input":"Hello there!","encoding_format":"%s"}'
    % encoding.encode()
    for encoding in ("base64", "float")
}
LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""
PLAN = (("base64", 1), ("base64", 16), ("float", 16))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    with tempfile.TemporaryDirectory(prefix="quantized-embeddings-") as tmp:
        cases = {}
        for case, body in BODIES.items():
            script = Path(tmp) / f"{case}.lua"
            script.write_text(LUA.format(body=body.decode()))
            cases[case] = Case(("/v1/embeddings", script), ("/v1/embeddings", script))
        with serving(
            Path(tmp), args.source, UPSTREAM_PORT, GATEWAY_PORT, embeddings=True
        ) as targets:
            results, cpu = measure(cases, targets, args, PLAN)
    report(results, cpu, [name for name in targets if name != "direct"])


def report(results: dict[str, list[Run]], cpu: dict[str, list[float]], names: list[str]) -> None:
    direct = {case: median(results[f"direct {case} 16"], "rps") for case in BODIES}
    one = results["direct base64 1"]
    print(
        f"direct: base64 p50 {median(one, 'p50_ms'):.3f} ms at 1 connection; at 16: "
        f"{direct['base64']:.0f} req/s (base64), {direct['float']:.0f} req/s (float)"
    )
    for name in names:
        mine = results[f"{name} base64 1"]
        added = median(mine, "p50_ms") - median(one, "p50_ms")
        print(f"{name}:")
        print(
            f"  base64, 1 connection: p50 {median(mine, 'p50_ms'):.3f} ms "
            f"(p99 {median(mine, 'p99_ms'):.3f}) -> added {added:.3f} ms; gateway CPU "
            f"{statistics.median(cpu[f'{name} base64 1']):.0f} us a request"
        )
        for case in BODIES:
            rps = median(results[f"{name} {case} 16"], "rps")
            print(
                f"  {case}, 16 connections: {rps:.0f} req/s -> {rps / direct[case]:.2f} of "
                f"direct  (target >= 0.35); gateway CPU "
                f"{statistics.median(cpu[f'{name} {case} 16']):.0f} us a request"
            )


if __name__ == "__main__":
    main()
