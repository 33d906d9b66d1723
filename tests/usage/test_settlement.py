"""Reservations through a real gateway: held while a request runs, settled however it ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.processes import wait_until
from tests.utils.stacks import Stack, start_stack

USER = {"role": "user", "content": "hi"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("settlement"))
    yield running
    running.gateway.stop()
    running.upstream.stop()


def new_key(stack: Stack, name: str, **fields: Any) -> dict[str, Any]:
    with stack.client(stack.admin_key) as admin:
        created = admin.post("/admin/v1/keys", json={"name": name, **fields})
        assert created.status_code == 201, created.text
        return created.json()  # type: ignore[no-any-return]


def add_budget(stack: Stack, **fields: Any) -> dict[str, Any]:
    with stack.client(stack.admin_key) as admin:
        created = admin.post("/admin/v1/budgets", json={"period": "day", **fields})
        assert created.status_code == 201, created.text
        return created.json()  # type: ignore[no-any-return]


def status(stack: Stack, budget_id: int) -> dict[str, Any]:
    with stack.client(stack.admin_key) as admin:
        return admin.get(f"/admin/v1/budgets/{budget_id}").json()  # type: ignore[no-any-return]


def ledger_cost(stack: Stack, key_id: int, rows: int) -> float:
    found = wait_until(lambda: len(got := stack.ledger(caller_id=str(key_id))) == rows and got)
    return sum(int(r["cost_pusd"]) for r in found) / 10**12


def test_held_while_running_then_settled_to_the_cost(stack: Stack) -> None:
    key = new_key(stack, "slow-one")
    budget = add_budget(stack, scope=f"key:{key['id']}", limit_usd=1)
    body = {"model": "fake/chunks", "messages": [USER], "stream": True, "max_tokens": 50}
    with (
        stack.client(key["secret"]) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        next(lines)
        held = status(stack, budget["id"])  # 60 chunks, 50 ms apart: still running
        assert held["reserved_usd"] > 0 and held["spent_usd"] == 0
        assert held["remaining_usd"] == pytest.approx(1 - held["reserved_usd"], abs=1e-12)
        assert sum(1 for _ in lines) > 0  # to the end
    cost = ledger_cost(stack, key["id"], 1)
    settled = wait_until(lambda: (s := status(stack, budget["id"]))["spent_usd"] > 0 and s)
    assert settled["reserved_usd"] == 0
    assert settled["spent_usd"] == pytest.approx(cost, abs=0)


@pytest.mark.parametrize("model", ["fake/down", "fake/rejects", "fake/fallback"])
def test_a_failed_request_releases_everything_and_costs_nothing(stack: Stack, model: str) -> None:
    key = new_key(stack, f"failing-{model}")
    budget = add_budget(stack, scope=f"key:{key['id']}", limit_usd=1)
    with stack.client(key["secret"]) as client:
        response = client.post(
            "/v1/chat/completions", json={"model": model, "messages": [USER], "max_tokens": 9}
        )
    if model == "fake/fallback":  # the second upstream answers: billed once
        assert response.status_code == 200
        cost = ledger_cost(stack, key["id"], 1)
        assert cost > 0
    else:
        assert response.status_code >= 400
        cost = 0
    found = wait_until(lambda: (s := status(stack, budget["id"]))["reserved_usd"] == 0 and s)
    assert found["spent_usd"] == pytest.approx(cost, abs=0)


def test_a_client_that_leaves_mid_stream_is_settled(stack: Stack) -> None:
    key = new_key(stack, "leaver")
    budget = add_budget(stack, scope=f"key:{key['id']}", limit_usd=1)
    body = {"model": "fake/chunks", "messages": [USER], "stream": True, "max_tokens": 100}
    with (
        stack.client(key["secret"]) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        for _ in range(3):
            next(lines)
        assert status(stack, budget["id"])["reserved_usd"] > 0
    found = wait_until(lambda: (s := status(stack, budget["id"]))["reserved_usd"] == 0 and s)
    row = wait_until(lambda: stack.ledger(caller_id=str(key["id"])))[0]
    assert row["error_code"] == "client_disconnected" and row["estimated"]
    assert found["spent_usd"] == pytest.approx(int(row["cost_pusd"]) / 10**12, abs=0)


def test_soft_budgets_never_refuse(stack: Stack) -> None:
    key = new_key(stack, "soft")
    add_budget(stack, scope=f"key:{key['id']}", limit_usd=0.0000001, hard=False)
    with stack.client(key["secret"]) as client:
        statuses = [
            client.post("/v1/chat/completions", json={"model": "fake/gpt", "messages": [USER]})
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [200, 200, 200]


def test_a_person_budget_counts_every_key_of_the_person(stack: Stack) -> None:
    first = new_key(stack, "alice-1", person="alice@example.com")
    second = new_key(stack, "alice-2", person="alice@example.com")
    other = new_key(stack, "bob", person="bob@example.com")
    # each costs $0.0004 and reserves about $0.000284: the second does not fit what is left
    add_budget(stack, scope="person:alice@example.com", limit_usd=0.0006, period="month")
    body = {"model": "fake/gpt", "messages": [USER], "max_tokens": 20}
    with stack.client(first["secret"]) as client:
        assert client.post("/v1/chat/completions", json=body).status_code == 200
    with stack.client(second["secret"]) as client:
        refused = client.post("/v1/chat/completions", json=body)
    assert refused.status_code == 429
    message = refused.json()["error"]["message"]
    assert message.startswith("The monthly budget of person alice@example.com for all models")
    with stack.client(other["secret"]) as client:
        assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_a_per_model_budget_leaves_other_models_alone(stack: Stack) -> None:
    key = new_key(stack, "one-model")
    add_budget(stack, scope=f"key:{key['id']}", model="fake/gpt", limit_usd=0.0005)
    body: dict[str, Any] = {"messages": [USER], "max_tokens": 20}
    with stack.client(key["secret"]) as client:
        assert client.post("/v1/chat/completions", json={**body, "model": "fake/gpt"}).is_success
        refused = client.post("/v1/chat/completions", json={**body, "model": "fake/gpt"})
        assert refused.status_code == 429
        assert "for fake/gpt" in refused.json()["error"]["message"]
        other = client.post("/v1/chat/completions", json={**body, "model": "fake/claude"})
        assert other.status_code == 200


def test_unbounded_requests_follow_the_configured_rule(tmp_path: Path) -> None:
    strict = start_stack(tmp_path, QUANTIZED_BUDGET_UNBOUNDED_OUTPUT="refuse")
    try:
        key = new_key(strict, "strict")
        free = new_key(strict, "free")
        add_budget(strict, scope=f"key:{key['id']}", limit_usd=1)
        with strict.client(key["secret"]) as client:
            refused = client.post(
                "/v1/chat/completions", json={"model": "fake/gpt", "messages": [USER]}
            )
            bounded = client.post(
                "/v1/chat/completions",
                json={"model": "fake/gpt", "messages": [USER], "max_tokens": 10},
            )
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == ("max_tokens_required", "max_tokens")
        assert bounded.status_code == 200
        with strict.client(free["secret"]) as client:  # no budget: no rule
            unbudgeted = client.post(
                "/v1/chat/completions", json={"model": "fake/gpt", "messages": [USER]}
            )
        assert unbudgeted.status_code == 200
    finally:
        strict.gateway.stop()
        strict.upstream.stop()
