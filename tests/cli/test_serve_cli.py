"""``quantized serve``: first start, restarts, workers, clean shutdown."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.utils.processes import KEY_RE, quantized_env, start_gateway


def test_first_start_prints_one_admin_key_and_restarts_print_none(tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}")
    first = start_gateway(env, tmp_path)
    try:
        assert first.admin_key is not None
        assert KEY_RE.findall(first.log()) == [first.admin_key]
        assert "shown this once" in first.log()
        response = httpx.get(
            f"{first.url}/v1/models", headers={"Authorization": f"Bearer {first.admin_key}"}
        )
        assert response.status_code == 200 and len(response.json()) >= 40
    finally:
        # uvicorn re-raises the signal after a graceful shutdown, as well-behaved daemons do
        assert first.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in first.log()
    second = start_gateway(env, tmp_path)
    try:
        assert second.admin_key is None
        response = httpx.get(
            f"{second.url}/v1/models", headers={"Authorization": f"Bearer {first.admin_key}"}
        )
        assert response.status_code == 200
    finally:
        second.stop()


def test_startup_is_quick(tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}")
    gateway = start_gateway(env, tmp_path)
    gateway.stop()
    again = start_gateway(env, tmp_path)
    again.stop()
    # A bound against something pathological (a migration or an import that takes seconds),
    # loose enough for a shared two-core machine under load (5.03 s seen there);
    # bench/models_vs_nginx.py measures the real figure.
    assert again.started_in < 15


def test_several_workers_serve_the_same_state(tmp_path: Path) -> None:
    env = quantized_env(f"sqlite:///{tmp_path / 'q.db'}")
    gateway = start_gateway(env, tmp_path, "--workers", "2", "--host", "127.0.0.1")
    try:
        headers = {"Authorization": f"Bearer {gateway.admin_key}"}
        with httpx.Client(headers=headers) as client:
            bodies = {client.get(f"{gateway.url}/v1/models").content for _ in range(20)}
        assert len(bodies) == 1
    finally:
        assert gateway.stop() in (0, -signal.SIGTERM)
