"""Stored responses through a running gateway, with OpenAI's own SDK: retrieve, delete and
list input items (paged, both orders, followed by the SDK), only ever the caller's own,
and errors in OpenAI's shape. The rows are put straight into the gateway's database, as
``POST /v1/responses`` with ``store: true`` keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from quantized.gateway.responses.stored import Caller, StoredResponse
from tests.utils.keys import create_key, key_works
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack, stack_on
from tests.utils.stored_responses import caller_of, put_responses, stored_response

ITEMS = [
    {"role": "developer", "content": "Answer briefly."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
    {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    {"role": "user", "content": "And tomorrow?"},
]


@dataclass
class Callers:
    stack: Stack
    owner: Caller
    other_key: str

    def sdk(self, key: str | None = None) -> OpenAI:
        return OpenAI(
            api_key=key or self.stack.user_key,
            base_url=f"{self.stack.gateway.url}/v1",
            max_retries=0,
        )

    def http(self, method: str, path: str, key: str | None = None, **options: Any) -> Any:
        headers = {"Authorization": f"Bearer {key or self.stack.user_key}"}
        url = f"{self.stack.gateway.url}/v1/responses/{path}"
        return httpx.request(method, url, headers=headers, timeout=10, **options)

    def keep(self, **options: Any) -> StoredResponse:
        """A new response of the owner's, in the gateway's database."""
        kept = stored_response(self.owner, **options)
        put_responses(self.stack.database_url, kept)
        return kept


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def callers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callers]:
    with stack_on(request.param, tmp_path_factory, "responses") as stack:
        other = create_key(stack.gateway.env, "--name", "someone-else")
        wait_until(lambda: key_works(stack.gateway, other), timeout=5)
        yield Callers(stack, caller_of(stack.gateway.url, stack.user_key), other)


def not_found(response_id: str) -> dict[str, Any]:
    message = f"No response found with id '{response_id}'."
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        }
    }


def test_retrieve_answers_the_response_as_it_was_made(callers: Callers) -> None:
    kept = callers.keep(text="Sunny all day.", metadata={"ticket": "42"})
    client = callers.sdk()
    response = client.responses.retrieve(kept.id)
    assert (response.id, response.model, response.status) == (kept.id, "fake/gpt", "completed")
    assert response.output_text == "Sunny all day."
    assert response.metadata == {"ticket": "42"}
    assert response.usage is not None and response.usage.total_tokens == 11
    again = client.responses.retrieve(
        kept.id,
        include=["message.output_text.logprobs", "reasoning.encrypted_content"],
        include_obfuscation=False,
        starting_after=3,
    )
    assert again.to_dict() == response.to_dict()
    assert callers.http("GET", kept.id).json() == kept.response


def test_retrieving_as_a_stream_is_refused(callers: Callers) -> None:
    kept = callers.keep()
    with pytest.raises(openai.BadRequestError) as refused:
        callers.sdk().responses.retrieve(kept.id, stream=True)
    assert (refused.value.status_code, refused.value.param) == (400, "stream")
    assert "not supported" in refused.value.message


def test_another_caller_never_learns_a_response_exists(callers: Callers) -> None:
    kept = callers.keep(items=ITEMS)
    stranger = callers.sdk(callers.other_key)
    with pytest.raises(openai.NotFoundError) as hidden:
        stranger.responses.retrieve(kept.id)
    assert hidden.value.response.json() == not_found(kept.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.input_items.list(kept.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(kept.id)
    for method, path in (("GET", kept.id), ("DELETE", kept.id), ("GET", f"{kept.id}/input_items")):
        answer = callers.http(method, path, callers.other_key)
        assert (answer.status_code, answer.json()) == (404, not_found(kept.id))
    assert callers.sdk().responses.retrieve(kept.id).id == kept.id  # still there, still its own


def test_delete_then_it_is_gone(callers: Callers) -> None:
    first, second = callers.keep(), callers.keep()
    client = callers.sdk()
    assert client.responses.delete(first.id) is None  # the SDK returns nothing
    deleted = callers.http("DELETE", second.id)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": second.id, "object": "response.deleted", "deleted": True}
    for gone in (first, second):
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(gone.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.delete(gone.id)
        assert callers.http("GET", f"{gone.id}/input_items").status_code == 404


def test_input_items_in_pages_and_both_orders(callers: Callers) -> None:
    kept = callers.keep(items=ITEMS)
    ids = [item["id"] for item in kept.input_items]
    client = callers.sdk()

    newest_first = client.responses.input_items.list(kept.id)  # desc, 20 a page
    assert [item.id for item in newest_first.data] == ids[::-1]
    assert newest_first.has_more is False
    types = ["message", "function_call_output", "function_call", "message", "message"]
    assert [item.type for item in newest_first.data] == types

    page = client.responses.input_items.list(kept.id, limit=2, order="asc")
    assert [item.id for item in page.data] == ids[:2] and page.has_more is True
    assert page.first_id == ids[0] and page.last_id == ids[1]
    after = client.responses.input_items.list(kept.id, limit=2, order="asc", after=ids[1])
    assert [item.id for item in after.data] == ids[2:4]
    backwards = client.responses.input_items.list(kept.id, limit=2, after=ids[3])
    assert [item.id for item in backwards.data] == ids[2::-1][:2]

    assert [item.id for item in client.responses.input_items.list(kept.id, limit=2)] == ids[::-1]
    followed = client.responses.input_items.list(kept.id, limit=2, order="asc", include=["x"])
    assert [item.id for item in followed] == ids  # the SDK follows last_id itself

    last = callers.http("GET", f"{kept.id}/input_items", params={"order": "asc", "after": ids[4]})
    assert last.json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"after": "msg_unknown"}, "after"),
        ({"before": "msg_1"}, "before"),
    ],
)
def test_bad_input_items_queries_are_400s(
    callers: Callers, query: dict[str, str], param: str
) -> None:
    kept = callers.keep(items=ITEMS)
    answer = callers.http("GET", f"{kept.id}/input_items", params=query)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    with pytest.raises(openai.BadRequestError) as refused:
        callers.sdk().responses.input_items.list(kept.id, extra_query=query)
    assert refused.value.param == param


def test_unknown_ids_and_missing_credentials(callers: Callers) -> None:
    client = callers.sdk()
    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.retrieve("resp_never_made")
    assert unknown.value.response.json() == not_found("resp_never_made")
    assert callers.http("DELETE", "resp_never_made").json() == not_found("resp_never_made")
    kept = callers.keep()
    anonymous = httpx.get(f"{callers.stack.gateway.url}/v1/responses/{kept.id}")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
