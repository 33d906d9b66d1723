"""GET /v1/models/{id}: raw and percent-encoded slashes, the SDK, and 404s."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.api.test_spec_examples import assert_documented_model
from tests.utils.keys import Keys
from tests.utils.processes import Gateway


def listing(gateway: Gateway, key: str) -> list[dict[str, object]]:
    response = httpx.get(f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("encode", [False, True], ids=["raw-slash", "percent-encoded"])
def test_retrieve_matches_listing_entry(gateway: Gateway, keys: Keys, encode: bool) -> None:
    for model in listing(gateway, keys.plain)[:5]:
        model_id = str(model["id"])
        path = model_id.replace("/", "%2F") if encode else model_id
        response = httpx.get(
            f"{gateway.url}/v1/models/{path}", headers={"Authorization": f"Bearer {keys.plain}"}
        )
        assert response.status_code == 200, response.text
        assert response.json() == model


def test_sdk_retrieve_with_slashed_id(gateway: Gateway, keys: Keys) -> None:
    client = OpenAI(api_key=keys.plain, base_url=f"{gateway.url}/v1")
    wanted = listing(gateway, keys.plain)[0]
    model = client.models.retrieve(str(wanted["id"]))
    assert model.id == wanted["id"]
    assert model.object == "model"
    assert model.owned_by == wanted["model_author"]
    assert_documented_model(model.model_dump())


def test_unknown_model_is_a_404_in_openai_shape(gateway: Gateway, keys: Keys) -> None:
    response = httpx.get(
        f"{gateway.url}/v1/models/openai/no-such-model",
        headers={"Authorization": f"Bearer {keys.plain}"},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "model_not_found"
    assert "openai/no-such-model" in error["message"]


def test_sdk_raises_not_found(gateway: Gateway, keys: Keys) -> None:
    client = OpenAI(api_key=keys.plain, base_url=f"{gateway.url}/v1")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("openai/no-such-model")
    assert "does not exist" in str(caught.value)


def test_head_answers_like_get_without_a_body(gateway: Gateway, keys: Keys) -> None:
    headers = {"Authorization": f"Bearer {keys.plain}"}
    get = httpx.get(f"{gateway.url}/v1/models", headers=headers)
    head = httpx.head(f"{gateway.url}/v1/models", headers=headers)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["etag"] == get.headers["etag"]
