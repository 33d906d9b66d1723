"""GET /v1/models with an RS256 JWT against the same request with an API key.

One gateway (default configuration plus one JWT issuer with an RS256 public key
file), pinned to one core; wrk drives it from the other core, alternating runs
with the API key and with a JWT, and compares the medians.

    python bench/jwt_vs_key.py [--runs 5] [--duration 10] [--connections 64]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from common import Run, admin_key, arguments, median, require, start_gateway, stop, wait_for, wrk


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with tempfile.TemporaryDirectory(prefix="quantized-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "issuer.pem").write_bytes(public_pem)
        port = 18410
        gateway = start_gateway(
            workdir,
            port,
            QUANTIZED_JWT_ISSUER="https://login.example.com",
            QUANTIZED_JWT_AUDIENCE="quantized",
            QUANTIZED_JWT_PUBLIC_KEY_FILE=str(workdir / "issuer.pem"),
        )
        try:
            key = admin_key(gateway)
            now = int(time.time())
            token = jwt.encode(
                {
                    "iss": "https://login.example.com",
                    "aud": "quantized",
                    "sub": "bench@example.com",
                    "iat": now,
                    "exp": now + 3600,
                },
                private,
                algorithm="RS256",
                headers={"kid": "bench"},
            )
            url = f"http://127.0.0.1:{port}/v1/models"
            wait_for(url, {"Authorization": f"Bearer {key}"})
            wait_for(url, {"Authorization": f"Bearer {token}"})
            by_key: list[Run] = []
            by_jwt: list[Run] = []
            for i in range(args.runs):
                for name, credential, runs in (("api key", key, by_key), ("jwt", token, by_jwt)):
                    run = wrk(url, credential, args.duration, args.connections)
                    runs.append(run)
                    print(
                        f"run {i + 1} {name:8} {run.rps:10.0f} req/s  p50 {run.p50_ms:.2f} ms"
                        f"  p99 {run.p99_ms:.2f} ms",
                        flush=True,
                    )
        finally:
            stop(gateway)

    print()
    print(
        f"token: {len(token)} bytes RS256; wrk -t1 -c{args.connections} -d{args.duration}s"
        f" x {args.runs} runs, medians"
    )
    print(f"{'':8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, runs in (("api key", by_key), ("jwt", by_jwt)):
        print(
            f"{name:8} {median(runs, 'rps'):10.0f} {median(runs, 'p50_ms'):8.2f}"
            f" {median(runs, 'p99_ms'):8.2f}"
        )
    ratio = median(by_jwt, "rps") / median(by_key, "rps")
    print(f"ratio jwt/api key req/s: {ratio:.2f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
