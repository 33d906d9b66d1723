"""The Azure OpenAI provider against raw bytes: URLs, auth headers, answers, streams, errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from quantized.catalog.model import Upstream
from quantized.gateway.providers import providers
from quantized.gateway.providers.azure import AzureProvider, azure_url
from quantized.gateway.providers.base import CredentialsUnavailable, error_message
from quantized.gateway.streams import DONE, Usage
from quantized.gateway.surfaces.chat import ChatRequest, parse_chat_request
from tests.utils.azure_upstream import chunks, completion, filtered_prompt

RESOURCE = "https://contoso.openai.azure.com"
DEPLOYED = Upstream("azure", RESOURCE, "gpt-4o-prod", api_version="2024-10-21")
V1 = Upstream("azure", RESOURCE + "/openai/v1/", "gpt-4o-prod")
ENTRA = Upstream("azure", RESOURCE, "gpt-4o-prod", api_version="2024-10-21", auth="entra")


def chat(**fields: Any) -> ChatRequest:
    body = {"model": "alias", "messages": [{"role": "user", "content": "hi"}], **fields}
    return parse_chat_request(orjson.dumps(body))


def test_it_is_registered_as_azure() -> None:
    assert isinstance(providers()["azure"], AzureProvider)


def test_a_deployment_call() -> None:
    request = chat(temperature=0.2, stream=True, vendor={"x": 1})
    call = AzureProvider().call(request, DEPLOYED, "azure-key-1")
    assert call.url == (
        f"{RESOURCE}/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    )
    assert orjson.loads(call.body) == {
        **request.body,
        "model": "gpt-4o-prod",
        "stream_options": {"include_usage": True},
    }
    assert dict(call.headers) == {
        b"content-type": b"application/json",
        b"accept-encoding": b"identity",
        b"api-key": b"azure-key-1",
    }


def test_a_v1_call_names_the_deployment_in_the_body() -> None:
    call = AzureProvider().call(chat(), V1, "azure-key-1")
    assert call.url == f"{RESOURCE}/openai/v1/chat/completions"
    assert orjson.loads(call.body)["model"] == "gpt-4o-prod"
    dated = Upstream("azure", RESOURCE + "/openai/v1", "d", api_version="preview")
    assert azure_url(dated, "/chat/completions") == (
        f"{RESOURCE}/openai/v1/chat/completions?api-version=preview"
    )


def test_the_deployment_name_is_quoted_in_the_path() -> None:
    odd = Upstream("azure", RESOURCE + "/", "my dep/1", api_version="2024-10-21")
    assert azure_url(odd, "/embeddings") == (
        f"{RESOURCE}/openai/deployments/my%20dep%2F1/embeddings?api-version=2024-10-21"
    )


def test_no_key_sends_no_credentials() -> None:
    headers = dict(AzureProvider().call(chat(), DEPLOYED, None).headers)
    assert b"api-key" not in headers and b"authorization" not in headers


def test_entra_with_a_key_sends_it_as_the_bearer_token() -> None:
    provider = AzureProvider()
    headers = dict(provider.call(chat(), ENTRA, "operator-token").headers)
    assert headers[b"authorization"] == b"Bearer operator-token"
    assert b"api-key" not in headers


def test_entra_without_a_token_is_credentials_unavailable() -> None:
    with pytest.raises(CredentialsUnavailable):
        AzureProvider().call(chat(), ENTRA, None)


def test_a_whole_answer_passes_through_with_its_annotations_and_usage() -> None:
    body = orjson.dumps(
        completion({"messages": [{"role": "user", "content": "x"}]}, "usage-90-30-7")
    )
    out, usage = AzureProvider().completion(chat(), body)
    assert out == body
    assert usage == Usage(prompt_tokens=90, cached_tokens=30, completion_tokens=7)


def stream_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + DONE


def translate(request: ChatRequest, raw: bytes) -> tuple[list[dict[str, Any]], Any]:
    translator = AzureProvider().translator(request)
    out = b"".join([*translator.feed(raw[:37]), *translator.feed(raw[37:]), *translator.finish()])
    events = [orjson.loads(e[6:]) for e in out.split(b"\n\n") if e and e != b"data: [DONE]"]
    assert out.endswith(DONE)
    return events, translator


def test_a_stream_drops_the_annotation_only_first_chunk() -> None:
    body = {
        "messages": [{"role": "user", "content": "a b"}],
        "stream_options": {"include_usage": True},
    }
    upstream = chunks(body, "usage-90-30-7")
    assert upstream[0]["prompt_filter_results"] and upstream[0]["id"] == ""
    events, translator = translate(
        chat(stream=True, stream_options={"include_usage": True}), stream_of(upstream)
    )
    assert events == upstream[1:]  # everything else byte for byte, annotations included
    assert all(e["object"] == "chat.completion.chunk" and e["id"] for e in events)
    assert events[-1]["usage"]["prompt_tokens"] == 90
    assert translator.usage == Usage(prompt_tokens=90, cached_tokens=30, completion_tokens=7)
    assert translator.chunks == 4  # the empty first delta, then "echo:", " a", " b"


def test_a_stream_without_usage_asked_hides_it_but_keeps_it() -> None:
    body = {
        "messages": [{"role": "user", "content": "a"}],
        "stream_options": {"include_usage": True},
    }
    events, translator = translate(chat(stream=True), stream_of(chunks(body, "usage-9-0-2")))
    assert all("usage" not in e for e in events) and all(e["choices"] for e in events)
    assert translator.usage == Usage(prompt_tokens=9, completion_tokens=2)


def test_a_filtered_stream_ends_with_content_filter() -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    events, _ = translate(chat(stream=True), stream_of(chunks(body, "filtered-completion")))
    last = events[-1]["choices"][0]
    assert last["finish_reason"] == "content_filter"
    assert last["content_filter_results"]["sexual"] == {"filtered": True, "severity": "medium"}


def test_a_chunk_with_choices_and_prompt_filter_results_is_kept() -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "prompt_filter_results": [],
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
    }
    events, _ = translate(chat(stream=True), stream_of([chunk]))
    assert events == [chunk]


def test_the_content_filter_message_names_the_categories() -> None:
    message = error_message(orjson.dumps(filtered_prompt()))
    assert message.startswith("The response was filtered due to the prompt triggering")
    assert message.endswith(" (filtered: hate (high), violence (medium))")


def test_filter_verdicts_without_severity_and_blocklists() -> None:
    inner = {
        "content_filter_result": {
            "jailbreak": {"filtered": True, "detected": True},
            "custom_blocklists": [{"filtered": True, "id": "words"}],
            "profanity": {"filtered": False, "detected": True},
        }
    }
    body = orjson.dumps({"error": {"message": "Filtered.", "innererror": inner}})
    assert error_message(body) == "Filtered. (filtered: jailbreak, custom_blocklists)"
    assert error_message(b'{"error": {"message": "m", "innererror": "x"}}') == "m"
