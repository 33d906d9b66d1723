"""Azure OpenAI upstreams end to end: the real gateway, the official SDKs, a fake Azure
resource and a fake Entra ID authority."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.api.providers.azure.conftest import OPERATOR_TOKEN, SHORT, WRONG_KEY, Azure, start_azure
from tests.utils import anthropic_clients
from tests.utils.azure_upstream import API_VERSION
from tests.utils.entra import CLIENT_SECRET
from tests.utils.openai_clients import sdk
from tests.utils.processes import wait_until
from tests.utils.upstream_embeddings import vector

HELLO = [{"role": "user", "content": "hello there"}]
GPT_COST = 2_625_000_000
"""usage-1000-300-50 at the stack's prices: (700 x 2.5 + 300 x 1.25 + 50 x 10) / 1e6 USD."""


def raw_chat(azure: Azure, model: str, **extra: Any) -> httpx.Response:
    with azure.stack.client() as client:
        return client.post(
            "/v1/chat/completions", json={"model": model, "messages": HELLO, **extra}
        )


def test_a_whole_completion_to_a_deployment(azure: Azure) -> None:
    raw = sdk(azure.stack).chat.completions.with_raw_response.create(
        model="azure/gpt",
        messages=HELLO,
        temperature=0.5,  # type: ignore[arg-type]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 1000
    seen = azure.fake.seen[-1]
    assert seen.path == (
        f"/openai/deployments/usage-1000-300-50/chat/completions?api-version={API_VERSION}"
    )
    assert seen.headers["api-key"] == azure.fake.api_key
    assert "Authorization" not in seen.headers and "authorization" not in seen.headers
    assert seen.body == {"model": "usage-1000-300-50", "messages": HELLO, "temperature": 0.5}
    row = azure.stack.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (1000, 300, 50)
    assert row["cost_pusd"] == GPT_COST and row["estimated"] == 0


def test_azures_annotations_pass_through(azure: Azure) -> None:
    body = raw_chat(azure, "azure/gpt").json()
    assert body["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert body["choices"][0]["content_filter_results"]["violence"]["severity"] == "safe"


def test_a_stream_through_the_openai_sdk(azure: Azure) -> None:
    stream = sdk(azure.stack).chat.completions.create(
        model="azure/gpt",
        messages=HELLO,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.id for c in chunks)  # no Azure preamble
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens) == (1000, 300)
    assert azure.fake.seen[-1].body["stream_options"] == {"include_usage": True}


def test_a_stream_is_billed(azure: Azure) -> None:
    response = raw_chat(azure, "azure/gpt", stream=True)  # no usage asked: billed all the same
    assert response.status_code == 200
    assert '"prompt_filter_results"' not in response.text and '"usage"' not in response.text
    assert response.text.endswith("data: [DONE]\n\n")
    assert azure.stack.row(response.headers["x-request-id"])["cost_pusd"] == GPT_COST


def test_the_v1_api(azure: Azure) -> None:
    completion = sdk(azure.stack).chat.completions.create(model="azure/v1", messages=HELLO)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "echo: hello there"
    seen = azure.fake.seen[-1]
    assert seen.path == "/openai/v1/chat/completions"
    assert seen.body["model"] == "usage-100-40-20"


@pytest.mark.parametrize("stream", [False, True])
def test_a_filtered_prompt_is_a_clear_400(azure: Azure, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(azure.stack).chat.completions.create(
            model="azure/filtered-prompt",
            messages=HELLO,
            stream=stream,  # type: ignore[arg-type]
        )
    error = caught.value
    assert error.status_code == 400 and error.code == "content_filter" and error.param == "prompt"
    assert "content management policy" in error.message
    assert "(filtered: hate (high), violence (medium))" in error.message
    assert azure.fake.api_key not in error.message


def test_a_filtered_completion_says_so(azure: Azure) -> None:
    body = raw_chat(azure, "azure/filtered").json()
    choice = body["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == (
        "content_filter",
        "Here is a",
    )
    assert choice["content_filter_results"]["sexual"] == {"filtered": True, "severity": "medium"}
    stream = sdk(azure.stack).chat.completions.create(
        model="azure/filtered",
        messages=HELLO,
        stream=True,  # type: ignore[arg-type]
    )
    finishes = [c.choices[0].finish_reason for c in stream if c.choices]
    assert finishes[-1] == "content_filter"


def test_entra_tokens_through_the_messages_api(azure: Azure) -> None:
    message = anthropic_clients.sdk(azure.stack).messages.create(
        model="azure/entra", max_tokens=100, messages=[{"role": "user", "content": "hi there"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "echo: hi there"
    assert message.stop_reason == "end_turn"
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (60, 40, 20)
    seen = azure.fake.seen[-1]
    assert seen.path.startswith("/openai/deployments/usage-100-40-20/chat/completions?")
    assert seen.headers["authorization"] in {f"Bearer {t}" for t in azure.entra.issued}
    assert "api-key" not in seen.headers
    assert seen.body["max_tokens"] == 100


def bearer_of_a_request(azure: Azure) -> str:
    assert raw_chat(azure, "azure/entra").status_code == 200
    return str(azure.fake.seen[-1].headers["authorization"])


def test_entra_tokens_are_refreshed_before_they_expire_and_kept_while_fresh(
    azure: Azure,
) -> None:
    first = bearer_of_a_request(azure)  # a two-minute token: refreshed in the background
    wait_until(lambda: bearer_of_a_request(azure) != first, timeout=10)
    azure.entra.expires_in = 3600
    try:
        issued = len(azure.entra.issued)
        wait_until(lambda: bearer_of_a_request(azure) == f"Bearer entra-token-{issued + 1}")
        kept = len(azure.entra.issued)
        assert {bearer_of_a_request(azure) for _ in range(3)} == {f"Bearer entra-token-{kept}"}
        assert len(azure.entra.issued) == kept and azure.entra.refused == 0
    finally:
        azure.entra.expires_in = SHORT


def test_an_operators_own_token_is_the_bearer_token(azure: Azure) -> None:
    issued = len(azure.entra.issued)
    assert raw_chat(azure, "azure/entra-token").status_code == 200
    assert azure.fake.seen[-1].headers["authorization"] == f"Bearer {OPERATOR_TOKEN}"
    assert len(azure.entra.issued) == issued


def test_a_failed_deployment_falls_back_to_the_next_upstream(azure: Azure) -> None:
    response = raw_chat(azure, "azure/fallback")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"


def test_embeddings_from_a_deployment(azure: Azure) -> None:
    raw = sdk(azure.stack).embeddings.with_raw_response.create(
        model="azure/embed", input=["one two", "three"], encoding_format="float"
    )
    vectors = [item.embedding for item in raw.parse().data]
    assert vectors == [vector("one two"), vector("three")]
    seen = azure.fake.seen[-1]
    assert seen.path == (
        f"/openai/deployments/text-embedding-3-small/embeddings?api-version={API_VERSION}"
    )
    assert seen.headers["api-key"] == azure.fake.api_key
    assert seen.body["model"] == "text-embedding-3-small"
    row = azure.stack.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["estimated"]) == (3, 0)
    assert row["cost_pusd"] == 390_000  # 3 tokens at EMBED_PRICE, 0.13 USD a million


def test_a_refused_key_is_the_operators_problem(azure: Azure) -> None:
    response = raw_chat(azure, "azure/wrong-key")
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert "refused the gateway's credentials (401)" in message and "AZURE_WRONG_KEY" in message
    assert WRONG_KEY not in response.text


def test_no_entra_token_is_a_clear_502(azure: Azure, tmp_path: Path) -> None:
    """A gateway whose service principal's secret is wrong: Entra ID refuses it, the entra
    upstream is skipped (never called without a token), and the client is told why."""
    wrong = "wrong-client-secret-0000000000"
    stack = start_azure(tmp_path, azure.fake, azure.entra, AZURE_CLIENT_SECRET=wrong)
    try:
        called, refused = len(azure.fake.seen), azure.entra.refused
        with stack.client() as client:
            response = client.post(
                "/v1/chat/completions", json={"model": "azure/entra", "messages": HELLO}
            )
        assert response.status_code == 502
        message = response.json()["error"]["message"]
        assert "could not authenticate" in message and "Microsoft Entra ID token" in message
        assert azure.entra.refused == refused + 1 and len(azure.fake.seen) == called
        assert wrong not in response.text and wrong not in stack.gateway.log()
    finally:
        stack.gateway.stop()


def test_no_secret_reaches_the_log(azure: Azure) -> None:
    raw_chat(azure, "azure/entra")
    raw_chat(azure, "azure/filtered-prompt")
    raw_chat(azure, "azure/wrong-key")
    log = azure.stack.gateway.log()
    secrets = [azure.fake.api_key, OPERATOR_TOKEN, WRONG_KEY, CLIENT_SECRET, *azure.entra.issued]
    assert azure.entra.issued and not [s for s in secrets if s in log]
