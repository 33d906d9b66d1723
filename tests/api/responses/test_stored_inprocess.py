"""The stored-response routes in process: the runtime's own store behind them, the query
forms OpenAI's SDKs send, and a retention of 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quantized.gateway.responses.stored import Caller
from tests.utils.inprocess import InProcess, in_process
from tests.utils.stored_responses import stored_response

pytestmark = pytest.mark.anyio
ITEMS = [{"role": "user", "content": f"message {n}"} for n in range(3)]


async def caller(running: InProcess) -> Caller:
    answer = await running.client.get("/v1/usage", headers=running.headers())
    found = answer.json()["caller"]
    return found["kind"], found["id"]


async def test_the_routes_read_and_delete_what_the_runtime_store_keeps(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        store = running.app.runtime.responses
        kept = stored_response(await caller(running), items=ITEMS)
        await store.put(kept)
        url = f"/v1/responses/{kept.id}"
        headers = running.headers()

        answer = await running.client.get(url, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == kept.response
        sdk_query = "include[]=message.output_text.logprobs&include[]=reasoning.encrypted_content"
        for extra in (sdk_query, "include=a&include=b&include[]=c", "stream=false"):
            assert (await running.client.get(f"{url}?{extra}", headers=headers)).status_code == 200

        listed = await running.client.get(f"{url}/input_items?order=asc&limit=2", headers=headers)
        ids = [item["id"] for item in kept.input_items]
        assert listed.json() == {
            "object": "list",
            "data": kept.input_items[:2],
            "first_id": ids[0],
            "last_id": ids[1],
            "has_more": True,
        }
        last = await running.client.get(f"{url}/input_items?after={ids[0]}", headers=headers)
        assert [item["id"] for item in last.json()["data"]] == []  # desc: nothing after the first
        head = await running.client.head(url, headers=headers)
        assert head.status_code == 200 and head.content == b""

        deleted = await running.client.delete(url, headers=headers)
        assert deleted.json() == {"id": kept.id, "object": "response.deleted", "deleted": True}
        assert await store.get(kept.caller, kept.id) is None
        for method in ("GET", "DELETE"):
            gone = await running.client.request(method, url, headers=headers)
            assert gone.status_code == 404
            assert gone.json()["error"]["code"] == "not_found"


async def test_repeated_or_unknown_parameters_are_400s(tmp_path: Path) -> None:
    async with in_process(tmp_path) as running:
        kept = stored_response(await caller(running))
        await running.app.runtime.responses.put(kept)
        cases: list[tuple[str, str]] = [
            ("input_items?limit=1&limit=2", "limit"),
            ("input_items?limit[]=1", "limit[]"),
            ("input_items?before=x", "before"),
            ("input_items?include=a%00b", "include[0]"),
            ("?stream=true", "stream"),
            ("?stream=maybe", "stream"),
        ]
        for suffix, param in cases:
            separator = "" if suffix.startswith("?") else "/"
            answer = await running.client.get(
                f"/v1/responses/{kept.id}{separator}{suffix}", headers=running.headers()
            )
            error: dict[str, Any] = answer.json()["error"]
            assert (answer.status_code, error["param"]) == (400, param), suffix
            assert error["type"] == "invalid_request_error"


async def test_a_retention_of_zero_keeps_no_response(tmp_path: Path) -> None:
    async with in_process(tmp_path, responses_retention_days=0) as running:
        store = running.app.runtime.responses
        assert not store.keeps
        kept = stored_response(await caller(running))
        await store.put(kept)
        answer = await running.client.get(f"/v1/responses/{kept.id}", headers=running.headers())
        assert answer.status_code == 404
