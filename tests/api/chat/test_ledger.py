"""The ledger: exact costs, usage endpoints, disconnects, budgets, nothing lost on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.utils.keys import create_key, key_works
from tests.utils.processes import run_cli, wait_until
from tests.utils.stacks import Stack, start_stack

USER = {"role": "user", "content": "hi"}
# 100 prompt tokens (40 cached), 20 completion, at 2.5 / 1.25 / 10 USD per million:
# (60 x 2.5 + 40 x 1.25 + 20 x 10) / 1e6 = 400 / 1e6 = 0.0004 USD = 400,000,000 pUSD
EXPECTED_PUSD = 400_000_000


def chat(
    stack: Stack, model: str = "fake/gpt", key: str | None = None, **extra: object
) -> httpx.Response:
    with stack.client(key) as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": [USER], **extra}
        )


@pytest.mark.parametrize(
    ("model", "stream"),
    [("fake/gpt", False), ("fake/gpt", True), ("fake/claude", False), ("fake/claude", True)],
)
def test_exact_cost_with_cached_tokens(stack: Stack, model: str, stream: bool) -> None:
    response = chat(stack, model, stream=stream)
    row = stack.row(response.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (100, 40, 20)
    assert row["cost_pusd"] == EXPECTED_PUSD
    assert (row["status"], row["stream"], row["estimated"]) == (200, int(stream), 0)
    assert row["caller_kind"] == "key" and row["model"] == model
    assert row["latency_ms"] > 0


def test_cost_without_cached_tokens(stack: Stack) -> None:
    row = stack.row(chat(stack, "fake/fallback").headers["x-request-id"])
    # the echo upstream reports 10 prompt, 0 cached, 5 completion: (10 x 2.5 + 5 x 10) / 1e6
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (10, 0, 5)
    assert Decimal(row["cost_pusd"]) / Decimal(10**12) == Decimal("0.000075")


def test_usage_endpoints(stack: Stack) -> None:
    key = create_key(stack.gateway.env, "--name", "usage-reader", "--models", "fake/*")
    wait_until(lambda: key_works(stack.gateway, key), timeout=5)
    for _ in range(3):
        chat(stack, "fake/gpt", key)
    chat(stack, "fake/claude", key)

    def mine() -> dict[str, object] | None:
        with stack.client(key) as client:
            body = client.get("/v1/usage").json()
        return body if sum(r["requests"] for r in body["data"]) == 4 else None

    body = wait_until(mine, timeout=5)
    rows = {r["model"]: r for r in body["data"]}  # type: ignore[attr-defined]
    assert rows["fake/gpt"]["requests"] == 3 and rows["fake/claude"]["requests"] == 1
    assert rows["fake/gpt"]["cost_usd"] == pytest.approx(0.0012, abs=0)
    assert body["total_cost_usd"] == pytest.approx(0.0016, abs=0)
    assert rows["fake/gpt"]["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    with stack.client(stack.admin_key) as admin:
        key_id = [
            k for k in admin.get("/admin/v1/keys").json()["data"] if k["name"] == "usage-reader"
        ][0]["id"]
        everyone = admin.get("/admin/v1/usage", params={"caller": f"key:{key_id}"}).json()
        assert sum(r["requests"] for r in everyone["data"]) == 4
        only = admin.get(
            "/admin/v1/usage", params={"caller": f"key:{key_id}", "model": "fake/claude"}
        )
        assert [r["model"] for r in only.json()["data"]] == ["fake/claude"]
        assert admin.get("/admin/v1/usage", params={"start": "nope"}).status_code == 400
        assert admin.get("/admin/v1/usage", params={"caller": "bogus"}).status_code == 400
    with stack.client(key) as client:
        assert client.get("/admin/v1/usage").status_code == 403
    table = run_cli("usage", "--caller", f"key:{key_id}", env=stack.gateway.env, check=True).stdout
    assert "fake/gpt" in table and "0.001200" in table and "total 0.001600 USD" in table


def test_failures_are_recorded_with_no_cost(stack: Stack) -> None:
    response = chat(
        stack, "fake/text-only", tools=[{"type": "function", "function": {"name": "f"}}]
    )
    row = stack.row(response.headers["x-request-id"])
    assert (row["status"], row["cost_pusd"], row["error_code"]) == (400, 0, "unsupported_feature")


def test_client_disconnect_cancels_the_upstream_and_is_recorded(stack: Stack) -> None:
    for model in ("fake/chunks", "fake/claude-chunks"):
        before = stack.upstream.aborted
        body = json.dumps({"model": model, "messages": [USER], "stream": True}).encode()
        with socket.create_connection(("127.0.0.1", stack.gateway.port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer " + stack.user_key.encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
            received = b""
            while received.count(b"data:") < 6:
                received += sock.recv(4096)
        request_id = received.split(b"x-request-id: ")[1].split(b"\r\n")[0].decode()
        row = stack.row(request_id)
        assert row["error_code"] == "client_disconnected" and row["estimated"] == 1
        assert 3 <= row["completion_tokens"] < 60
        assert row["cost_pusd"] > 0
        wait_until(lambda b=before: stack.upstream.aborted > b, timeout=5)  # upstream cut off


def test_budget_exhaustion(stack: Stack) -> None:
    env = stack.gateway.env
    key = create_key(env, "--name", "budgeted", "--models", "fake/*")
    wait_until(lambda: key_works(stack.gateway, key), timeout=5)
    with stack.client(stack.admin_key) as admin:
        key_id = [k for k in admin.get("/admin/v1/keys").json()["data"] if k["name"] == "budgeted"][
            0
        ]["id"]
        budget = admin.put(f"/admin/v1/budgets/key/{key_id}", json={"daily_usd": 0.001})
        assert budget.status_code == 200 and budget.json()["daily_usd"] == 0.001
    # each request reserves its worst case: about 27 prompt tokens (its 80-byte body / 3) at
    # 2.5 USD per million and its 20 max_tokens at 10, $0.00027; each costs $0.0004
    statuses = [chat(stack, "fake/gpt", key, max_tokens=20).status_code for _ in range(2)]
    assert statuses == [200, 200]
    refused = chat(stack, "fake/gpt", key, max_tokens=20)  # $0.0008 + $0.00027 > $0.001
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded" and error["type"] == "rate_limit_error"
    assert error["message"].startswith(
        f"The daily budget of key {key_id} for all models ($0.001) has no room for this "
        "request: $0.0008 spent; it resets at "
    )
    assert int(refused.headers["retry-after"]) > 0
    with stack.client(stack.admin_key) as admin:
        listed = admin.get("/admin/v1/budgets").json()["data"]
        mine = [b for b in listed if b["scope"] == {"kind": "key", "id": str(key_id)}][0]
        assert mine["spent_usd"] == pytest.approx(0.0008, abs=0)
        assert (mine["period"], mine["limit_usd"], mine["hard"]) == ("day", 0.001, True)
        assert mine["remaining_usd"] == pytest.approx(0.0002, abs=0)
    run_cli("budgets", "set", f"key:{key_id}", "--daily", "1", env=env, check=True)
    wait_until(lambda: chat(stack, "fake/gpt", key, max_tokens=20).status_code == 200, timeout=5)
    listing = run_cli("budgets", "list", env=env, check=True).stdout
    assert f"key:{key_id}" in listing
    run_cli("budgets", "remove", f"key:{key_id}", env=env, check=True)
    with stack.client(stack.admin_key) as admin:
        audit = admin.get("/admin/v1/audit", params={"entity": "budget"}).json()["data"]
    assert {e["action"] for e in audit} >= {"budget.create", "budget.update", "budget.delete"}


def test_sigterm_under_load_loses_no_ledger_row(tmp_path: Path) -> None:
    running = start_stack(tmp_path)
    answered: list[str] = []
    errors: list[str] = []

    def worker() -> None:
        for _ in range(30):
            try:
                with httpx.Client(
                    base_url=running.gateway.url,
                    timeout=10,
                    headers={"Authorization": f"Bearer {running.user_key}"},
                ) as client:
                    response = client.post(
                        "/v1/chat/completions", json={"model": "fake/slowish", "messages": [USER]}
                    )
                answered.append(response.headers["x-request-id"])
            except httpx.TransportError as exc:
                errors.append(type(exc).__name__)
                return

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(answered) >= 8, timeout=10)  # requests are flowing
    code = running.gateway.stop(signal.SIGTERM)
    for thread in threads:
        thread.join()
    running.upstream.stop()
    assert code in (0, -signal.SIGTERM)
    assert len(answered) >= 8 and errors  # some were served, later ones were refused
    recorded = {row["request_id"] for row in running.ledger()}
    missing = [r for r in answered if r not in recorded]
    assert missing == []
