"""The listing at scale: 10,000 models and 100,000 keys, against the shipped catalog.

Builds two stores: the shipped catalog with 1,000 keys, and 10,000 generated
models with 100,000 keys. For each it starts the gateway pinned to one core and
measures, against nginx serving the very same bytes (gzip where the gateway
sends gzip) behind the same Authorization check:

- the full listing with ``Accept-Encoding: gzip``, and a filtered listing;
- ``GET /v1/models/{id}`` with 1,000 vs 100,000 keys in the store (key lookup);
- startup to the first answer;
- how long an admin price change takes to show on a second process.

    python bench/scale.py [--runs 3] [--duration 5] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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

AUTHORS = [
    "openai",
    "anthropic",
    "google",
    "meta-llama",
    "mistralai",
    "deepseek",
    "qwen",
    "x-ai",
    "cohere",
    "moonshotai",
    "z-ai",
    "microsoft",
    "nvidia",
    "ai21",
    "amazon",
    "ibm",
    "perplexity",
    "minimax",
    "baidu",
    "tencent",
]
FEATURES = ["tool_calls", "structured_output", "reasoning", "prompt_caching", "web_search"]
FILTER = "author=openai&supported_features=reasoning"
GZIP = {"Accept-Encoding": "gzip"}


def generated_catalog(count: int) -> dict[str, object]:
    models = []
    for i in range(count):
        author = AUTHORS[i % len(AUTHORS)]
        models.append(
            {
                "id": f"{author}/model-{i:05d}",
                "name": f"Model {i:05d}",
                "description": f"Generated model number {i} by {author}, for benchmarks.",
                "created": 1_700_000_000 + i,
                "input_modalities": ["text", "image"] if i % 3 else ["text"],
                "output_modalities": ["text"],
                "supported_features": [f for j, f in enumerate(FEATURES) if (i >> j) & 1],
                "cost": {"prompt": (i % 50) / 10 + 0.1, "completion": (i % 50) / 5 + 0.4},
            }
        )
    return {"version": 1, "models": models}


def bench_secret(i: int) -> str:
    return f"sk-quantized-bench{i:038d}"


async def insert_keys(database_url: str, count: int) -> None:
    """Bulk-insert keys straight into the store (the CLI would take far too long)."""
    from sqlalchemy import insert

    from quantized.store.database import create_engine
    from quantized.store.tables import api_keys

    engine = create_engine(database_url)
    now = time.time()
    try:
        async with engine.begin() as conn:
            for start in range(0, count, 5000):
                rows = [
                    {
                        "name": f"bench-{i}",
                        "prefix": bench_secret(i)[:17],
                        "digest": hashlib.sha256(bench_secret(i).encode()).digest(),
                        "models": None,
                        "is_admin": False,
                        "created_at": now,
                    }
                    for i in range(start, min(count, start + 5000))
                ]
                await conn.execute(insert(api_keys), rows)
    finally:
        await engine.dispose()


@dataclass
class Store:
    name: str
    workdir: Path
    key: str
    models: int
    keys: int

    @property
    def url(self) -> str:
        return f"sqlite:///{self.workdir / 'q.db'}"


def prepare(workdir: Path, name: str, catalog: Path | None, keys: int) -> Store:
    """A store with the shipped catalog (or ``catalog``) and ``keys`` extra keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTIZED_")}
    env["QUANTIZED_DATABASE_URL"] = f"sqlite:///{workdir / 'q.db'}"
    if catalog is not None:
        env["QUANTIZED_CATALOG_FILE"] = str(catalog)
    gateway = subprocess.Popen(
        [sys.executable, "-m", "quantized", "serve", "--port", "18430"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    key = admin_key(gateway)
    wait_for("http://127.0.0.1:18430/healthz", {})
    stop(gateway)
    asyncio.run(insert_keys(env["QUANTIZED_DATABASE_URL"], keys))
    models = len(json.loads(catalog.read_text())["models"]) if catalog else 0
    return Store(name, workdir, key, models, keys + 1)


LOCATIONS = """location / {{
      {auth}
      default_type application/json;
      root {dir}/static;
    }}
    location ~ \\.gz$ {{
      {auth}
      default_type application/json;
      add_header Content-Encoding gzip;
      root {dir}/static;
    }}"""


def save(static: Path, name: str, response: httpx.Response) -> str:
    """Store the raw bytes the gateway sent; return the nginx path serving them."""
    gzipped = response.headers.get("content-encoding") == "gzip"
    file = f"{name}.gz" if gzipped else name
    (static / file).write_bytes(response.raw_bytes)  # type: ignore[attr-defined]
    return f"/{file}"


def raw_get(url: str, key: str, **headers: str) -> httpx.Response:
    with httpx.Client() as client:
        request = client.build_request(
            "GET", url, headers={"Authorization": f"Bearer {key}", **headers}
        )
        response = client.send(request, stream=True)
        response.raw_bytes = b"".join(response.iter_raw())  # type: ignore[attr-defined]
        return response


def compare(
    label: str,
    args: argparse.Namespace,
    key: str,
    ours: str,
    theirs: str,
    headers: dict[str, str],
) -> tuple[Run, Run]:
    """Alternating wrk runs against the gateway and nginx; medians."""
    q_runs: list[Run] = []
    n_runs: list[Run] = []
    for _ in range(args.runs):
        q_runs.append(wrk(ours, key, args.duration, args.connections, headers))
        n_runs.append(wrk(theirs, key, args.duration, args.connections, headers))
    q = Run(median(q_runs, "rps"), median(q_runs, "p50_ms"), median(q_runs, "p99_ms"))
    n = Run(median(n_runs, "rps"), median(n_runs, "p50_ms"), median(n_runs, "p99_ms"))
    print(
        f"{label:46} {q.rps:9.0f} req/s (p99 {q.p99_ms:5.2f} ms)   nginx {n.rps:9.0f} req/s"
        f"   ratio {q.rps / n.rps:.2f}",
        flush=True,
    )
    return q, n


@dataclass
class Figures:
    ratios: dict[str, float]
    lookup_rps: float


def measure(store: Store, port: int, root: Path, args: argparse.Namespace) -> Figures:
    """Every comparison for one store, its gateway and nginx both on the server core."""
    static = root / "static"
    gateway = start_gateway(store.workdir, port, QUANTIZED_DATABASE_URL=store.url)
    nginx: subprocess.Popen[bytes] | None = None
    large = store.models > 0
    item_id = "openai/model-00000" if large else "openai/gpt-4.1-nano"
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {store.key}"}
    try:
        startup = wait_for(f"{base}/v1/models/{item_id}", auth)
        rss, _ = rss_mib(gateway.pid)
        print(f"\n== {store.name}: startup to first answer {startup:.2f} s, RSS {rss:.0f} MiB")
        prefix = "large" if large else "small"
        full = save(static, f"{prefix}-full", raw_get(f"{base}/v1/models", store.key, **GZIP))
        filtered = save(
            static, f"{prefix}-filtered", raw_get(f"{base}/v1/models?{FILTER}", store.key, **GZIP)
        )
        item = save(static, f"{prefix}-item", raw_get(f"{base}/v1/models/{item_id}", store.key))
        nginx = start_nginx(root, 18440, store.key, LOCATIONS)
        wait_for(f"http://127.0.0.1:18440{full}", auth)
        sizes = [(static / p.lstrip("/")).stat().st_size for p in (full, filtered)]
        print(f"   on the wire: full listing {sizes[0]:,} bytes, filtered ({FILTER}) {sizes[1]:,}")
        ratios: dict[str, float] = {}
        lookup = 0.0
        for label, ours, theirs, headers in (
            ("full listing, gzip", f"{base}/v1/models", full, GZIP),
            ("filtered listing, gzip", f"{base}/v1/models?{FILTER}", filtered, GZIP),
            ("one model", f"{base}/v1/models/{item_id}", item, {}),
        ):
            theirs_url = f"http://127.0.0.1:18440{theirs}"
            q, n = compare(label, args, store.key, ours, theirs_url, headers)
            ratios[label] = q.rps / n.rps
            lookup = q.rps
        # another key, from the middle of the store: lookup cost must not depend on position
        other = [
            wrk(
                f"{base}/v1/models/{item_id}",
                bench_secret(store.keys // 2),
                args.duration,
                args.connections,
            )
            for _ in range(args.runs)
        ]
        print(f"{'one model, a key from the middle of the store':46} {median(other, 'rps'):9.0f}")
        if large:
            price_change_visibility(store, base)
        return Figures(ratios, lookup)
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        stop(gateway)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "nginx", "taskset")
    with tempfile.TemporaryDirectory(prefix="quantized-scale-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        catalog = root / "catalog-10k.json"
        catalog.write_text(json.dumps(generated_catalog(10_000)))
        for name in ("small", "large", "static"):
            (root / name).mkdir()
        print("preparing stores (10,000 models, 100,000 keys)...", flush=True)
        small = prepare(root / "small", "shipped catalog, 1,000 keys", None, 999)
        large = prepare(root / "large", "10,000 models, 100,000 keys", catalog, 99_999)
        shipped = measure(small, 18431, root, args)
        scaled = measure(large, 18432, root, args)

    print("\n== summary")
    for shape in ("full listing, gzip", "filtered listing, gzip"):
        before, after = shipped.ratios[shape], scaled.ratios[shape]
        print(
            f"{shape:24} ratio to nginx: shipped {before:.2f}, 10k models {after:.2f}"
            f" -> {after / before:.2f} of the shipped figure (target >= 0.5)"
        )
    print(
        f"key lookup (one model): {shipped.lookup_rps:.0f} req/s with 1,000 keys, "
        f"{scaled.lookup_rps:.0f} with 100,000 keys "
        f"({scaled.lookup_rps / shipped.lookup_rps:.2f})"
    )


def price_change_visibility(store: Store, base: str) -> None:
    """PATCH a price through this gateway; time until a second process lists it."""
    second = start_gateway(store.workdir, 18433, QUANTIZED_DATABASE_URL=store.url)
    try:
        headers = {"Authorization": f"Bearer {store.key}"}
        wait_for("http://127.0.0.1:18433/v1/models/openai/model-00020", headers)
        target = "openai/model-00020"
        started = time.monotonic()
        response = httpx.patch(
            f"{base}/admin/v1/models/{target}", headers=headers, json={"cost": {"prompt": 98.7}}
        )
        response.raise_for_status()
        here = time.monotonic() - started
        while True:
            seen = httpx.get(f"http://127.0.0.1:18433/v1/models/{target}", headers=headers)
            if seen.json()["cost"]["prompt"] == 98.7:
                break
            time.sleep(0.01)
        elsewhere = time.monotonic() - started
        print(
            f"admin price change on 10,000 models: applied and listed by this process in "
            f"{here * 1000:.0f} ms, by a second process in {elsewhere * 1000:.0f} ms "
            "(target < 1 s)",
            flush=True,
        )
    finally:
        stop(second)


if __name__ == "__main__":
    main()
