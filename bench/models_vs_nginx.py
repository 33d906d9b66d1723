"""GET /v1/models: Quantized against nginx serving the same bytes.

Starts the gateway in its default configuration (SQLite file, shipped catalog,
one worker) pinned to one core, and nginx (one worker, access log off) pinned to
the same core, serving the very same response bytes as a static file behind the
same Authorization check — twice: tuned as an operator would tune it (sendfile,
tcp_nopush, a million requests per keep-alive connection: the baseline the
target is measured against) and with nginx's defaults (for reference). wrk
drives all three from the other core, alternating runs, and the medians are
compared. Also reports startup time and RSS. With ``--observability`` a second
gateway with metrics off (``QUANTIZED_METRICS=false``; the first has them on, the
default) is measured alike.

    python bench/models_vs_nginx.py [--runs 5] [--duration 10] [--connections 64]
                                    [--observability]

Needs wrk and nginx (Debian: apt-get install wrk nginx-light) and two cores.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import httpx

from common import (
    Run,
    admin_key,
    arguments,
    median,
    require,
    rss_mib,
    start_gateway,
    start_nginx,
    stop,
    stop_nginx,
    wait_for,
    wrk,
)

LOCATIONS = """location = /v1/models {{
      {auth}
      default_type application/json;
      alias {dir}/models.json;
    }}"""


def schedule_prices(url: str, headers: dict[str, str], body: bytes) -> None:
    """Schedule a price a year ahead for every listed model, then check that the listing
    (the price in force) is byte for byte what it was."""
    later = int(time.time()) + 365 * 86_400
    listed = json.loads(body)
    for item in listed if isinstance(listed, list) else listed["data"]:
        answer = httpx.post(
            f"{url}/admin/v1/models/{item['id']}/prices",
            json={"prompt": 1, "completion": 1, "effective_from": later},
            headers=headers,
        )
        answer.raise_for_status()
    if httpx.get(f"{url}/v1/models", headers=headers).content != body:
        raise SystemExit("a scheduled price must not change the listing before its time")


def main() -> None:
    args = arguments(__doc__.splitlines()[0], observability=True)
    require("wrk", "nginx", "taskset")

    with tempfile.TemporaryDirectory(prefix="quantized-bench-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx workers run as an unprivileged user
        gw_port, ng_port = 18400, 18401

        # First start: migrations, shipped catalog, bootstrap key.
        gateway = start_gateway(workdir, gw_port)
        first_start = wait_for(f"http://127.0.0.1:{gw_port}/healthz", {})
        key = admin_key(gateway)
        first_rss, _ = rss_mib(gateway.pid)
        stop(gateway)

        # Restart (what every later start costs), timed to the first /v1/models answer.
        headers = {"Authorization": f"Bearer {key}"}
        gateway = start_gateway(workdir, gw_port)
        restart = wait_for(f"http://127.0.0.1:{gw_port}/v1/models", headers)
        body = httpx.get(f"http://127.0.0.1:{gw_port}/v1/models", headers=headers).content
        (workdir / "models.json").write_bytes(body)
        other = None
        if args.source is not None:
            other = start_gateway(workdir, gw_port + 10, PYTHONPATH=str(args.source.resolve()))
            wait_for(f"http://127.0.0.1:{gw_port + 10}/v1/models", headers)
        bare = None
        if args.observability:
            bare = start_gateway(workdir, gw_port + 20, QUANTIZED_METRICS="false")
            wait_for(f"http://127.0.0.1:{gw_port + 20}/v1/models", headers)
        tuned = start_nginx(workdir, ng_port, key, LOCATIONS)
        untuned = start_nginx(workdir, ng_port + 1, key, LOCATIONS, tuned=False)
        try:
            if args.scheduled:  # every model's price changes in a year: not shown before
                schedule_prices(f"http://127.0.0.1:{gw_port}", headers, body)
            for port in (ng_port, ng_port + 1):
                wait_for(f"http://127.0.0.1:{port}/v1/models", headers)
                same = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers).content
                if same != body:
                    raise SystemExit("nginx must serve the very same bytes")
            servers = [("quantized", gw_port), ("nginx", ng_port), ("nginx-default", ng_port + 1)]
            if other is not None:
                servers.append(("--source", gw_port + 10))
            if bare is not None:
                servers.append(("no-metrics", gw_port + 20))
            results: dict[str, list[Run]] = {name: [] for name, _ in servers}
            for i in range(args.runs):
                for name, port in servers:
                    runs = results[name]
                    run = wrk(
                        f"http://127.0.0.1:{port}/v1/models", key, args.duration, args.connections
                    )
                    runs.append(run)
                    print(
                        f"run {i + 1} {name:13} {run.rps:10.0f} req/s  p50 {run.p50_ms:.2f} ms"
                        f"  p99 {run.p99_ms:.2f} ms",
                        flush=True,
                    )
            rss, peak = rss_mib(gateway.pid)
        finally:
            stop_nginx(tuned)
            stop_nginx(untuned)
            stop(gateway)
            for extra in (other, bare):
                if extra is not None:
                    stop(extra)

    q_rps, n_rps = median(results["quantized"], "rps"), median(results["nginx"], "rps")
    if args.scheduled:
        print("quantized: every model with a price scheduled a year ahead (listing unchanged)")
    d_rps = median(results["nginx-default"], "rps")
    print()
    models = body.count(b'{"id"')
    print(
        f"body: {len(body)} bytes, {models} models; wrk -t1 -c{args.connections}"
        f" -d{args.duration}s x {args.runs} runs, medians"
    )
    print(f"{'':14} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, runs in results.items():
        print(
            f"{name:14} {median(runs, 'rps'):10.0f} {median(runs, 'p50_ms'):8.2f}"
            f" {median(runs, 'p99_ms'):8.2f}"
        )
    print(f"ratio quantized/nginx (tuned) req/s: {q_rps / n_rps:.2f}  (target >= 0.7, metrics on)")
    print(f"ratio quantized/nginx (defaults) req/s: {q_rps / d_rps:.2f}  (for reference)")
    if args.source is not None:
        o_rps = median(results["--source"], "rps")
        print(
            f"--source {args.source}: {o_rps / n_rps:.2f} of nginx (tuned), "
            f"{o_rps / d_rps:.2f} of nginx (defaults)"
        )
    if bare is not None:
        b_rps = median(results["no-metrics"], "rps")
        print(
            f"metrics off: {b_rps / n_rps:.2f} of nginx (tuned); metrics on (the default)"
            f" keep {q_rps / b_rps:.3f} of the throughput without them"
        )
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
