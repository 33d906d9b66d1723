"""Stored responses through the official SDK: store, continue, retrieve, list inputs, delete."""

from __future__ import annotations

import openai
import pytest

from tests.utils.keys import create_key, key_works
from tests.utils.openai_clients import checked_events, post_stream, sdk
from tests.utils.processes import wait_until
from tests.utils.stacks import Stack

MODELS = ["fake/gpt-native", "fake/gpt", "fake/claude"]


@pytest.mark.parametrize("model", MODELS)
def test_a_stored_response_is_continued_retrieved_and_deleted(stack: Stack, model: str) -> None:
    client = sdk(stack)
    first = client.responses.create(model=model, input="my name is Ada", instructions="be brief")
    assert first.store is not False
    again = client.responses.retrieve(first.id)
    assert again.id == first.id and again.output_text == first.output_text
    second = client.responses.create(
        model=model, input="what is my name?", previous_response_id=first.id
    )
    sent = stack.upstream.seen[-1].body
    texts = str(sent.get("input") or sent.get("messages"))
    assert "my name is Ada" in texts and first.output_text in texts
    assert "what is my name?" in texts
    assert "previous_response_id" not in sent
    items = list(client.responses.input_items.list(second.id, order="asc"))
    assert [i.type for i in items] == ["message"]
    assert items[0].id  # made by the gateway where the client gave none
    deleted = client.responses.delete(second.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)


def test_a_streamed_response_is_stored_before_the_stream_ends(stack: Stack) -> None:
    answer = post_stream(stack, {"model": "fake/gpt", "input": "remember 42"})
    completed = checked_events(answer.text)[-1]
    assert completed["type"] == "response.completed"
    response_id = completed["response"]["id"]
    follow = sdk(stack).responses.create(
        model="fake/gpt", input="what number?", previous_response_id=response_id
    )
    assert follow.previous_response_id == response_id
    assert "remember 42" in str(stack.upstream.seen[-1].body["messages"])


def test_store_false_keeps_nothing(stack: Stack) -> None:
    client = sdk(stack)
    response = client.responses.create(model="fake/gpt-native", input="x", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as refused:
        client.responses.create(model="fake/gpt", input="y", previous_response_id=response.id)
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_another_caller_can_neither_read_nor_continue_nor_delete(stack: Stack) -> None:
    mine = sdk(stack).responses.create(model="fake/gpt", input="secret plans")
    other_key = create_key(stack.gateway.env, "--name", "someone-else", "--models", "fake/*")
    wait_until(lambda: key_works(stack.gateway, other_key), timeout=5)
    other = sdk(stack, other_key)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="fake/gpt", input="tell me", previous_response_id=mine.id)
    assert sdk(stack).responses.retrieve(mine.id).output_text == mine.output_text
