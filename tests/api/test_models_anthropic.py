"""GET /v1/models in Anthropic's shape: the official SDK against a real gateway, the shape and
its paging checked raw, and requests without ``anthropic-version`` answered as before."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic

from quantized.api import schemas
from tests.utils.keys import Keys
from tests.utils.processes import Gateway

VERSION = "2023-06-01"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MODEL_FIELDS = {"type", "id", "display_name", "created_at"}


@pytest.fixture(autouse=True)
def no_anthropic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK falls back to these variables: each test says which credential it sends."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def sdk(
    gateway: Gateway, key: str, how: str = "api_key", sent: list[Any] | None = None
) -> Anthropic:
    """The SDK given ``key`` as ``api_key=`` or ``auth_token=`` (this release sends both as
    ``Authorization: Bearer``), or as the ``x-api-key`` header that earlier releases and Claude
    Code send; on its own HTTP client (the SDK's package), recording what it sends."""
    hooks = {"request": [sent.append]} if sent is not None else {}
    http = anthropic.DefaultHttpxClient(event_hooks=hooks)
    credential: dict[str, Any] = (
        {"default_headers": {"x-api-key": key}} if how == "x-api-key" else {how: key}
    )
    return Anthropic(base_url=gateway.url, max_retries=0, http_client=http, **credential)


def plain(gateway: Gateway, key: str, query: str = "") -> list[dict[str, Any]]:
    """The listing as it was: the bare array, asked with ``Authorization``."""
    response = httpx.get(
        f"{gateway.url}/v1/models{query}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    return response.json()  # type: ignore[no-any-return]


def get(gateway: Gateway, key: str, path: str = "/v1/models", **headers: str) -> httpx.Response:
    return httpx.get(
        gateway.url + path, headers={"x-api-key": key, "anthropic-version": VERSION, **headers}
    )


def page(gateway: Gateway, key: str, query: str) -> dict[str, Any]:
    response = get(gateway, key, f"/v1/models?{query}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(found: dict[str, Any]) -> list[str]:
    return [model["id"] for model in found["data"]]


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "error"} and body["type"] == "error"
    assert set(body["error"]) == {"type", "message"} and body["error"]["type"] == error_type
    assert response.headers["request-id"] == response.headers["x-request-id"]
    return str(body["error"]["message"])


@pytest.fixture(params=["api_key", "auth_token", "x-api-key"])
def credential(request: pytest.FixtureRequest) -> Iterator[str]:
    """How the SDK is given the key (see :func:`sdk`)."""
    yield request.param


@pytest.mark.parametrize("who", ["plain", "restricted"])
def test_sdk_pages_through_exactly_the_visible_listing(
    gateway: Gateway, keys: Keys, credential: str, who: str
) -> None:
    key = getattr(keys, who)
    sent: list[Any] = []
    client = sdk(gateway, key, credential, sent)
    expected = plain(gateway, key)
    walked = list(client.models.list(limit=2))
    assert [m.id for m in walked] == [m["id"] for m in expected]
    assert len(sent) == (len(expected) + 1) // 2  # pages of two, the last says has_more false
    for model, documented in zip(walked, expected, strict=True):
        assert model.type == "model" and model.display_name == documented["name"]
        assert model.created_at.tzinfo is not None
    header, other = "authorization", "x-api-key"
    if credential == "x-api-key":
        header, other = other, header
    assert all(header in r.headers and other not in r.headers for r in sent)
    assert all("anthropic-version" in r.headers for r in sent)
    if who == "restricted":
        assert all(m.id.startswith(("openai/", "anthropic/claude-")) for m in walked)


def test_sdk_default_page_and_retrieve(gateway: Gateway, keys: Keys) -> None:
    client = sdk(gateway, keys.plain)
    first = client.models.list()
    listed = plain(gateway, keys.plain)
    assert [m.id for m in first.data] == [m["id"] for m in listed[:20]]
    assert first.has_more is (len(listed) > 20) and first.last_id == listed[19]["id"]
    envelope = httpx.get(
        f"{gateway.url}/v1/models",
        headers={"Authorization": f"Bearer {keys.plain}", "X-Stainless-Lang": "python"},
    ).json()["data"]
    for entry in envelope[:3]:
        model = client.models.retrieve(entry["id"])  # the SDK sends the slash as %2F
        assert (model.id, model.type, model.display_name) == (entry["id"], "model", entry["name"])
        assert model.created_at == datetime.fromtimestamp(entry["created"], UTC)


def test_sdk_unknown_and_forbidden_models_are_not_found(gateway: Gateway, keys: Keys) -> None:
    for key, model in (
        (keys.plain, "openai/no-such-model"),
        (keys.restricted, "google/gemini-2.5-pro"),
    ):
        with pytest.raises(anthropic.NotFoundError) as caught:
            sdk(gateway, key).models.retrieve(model)
        assert caught.value.status_code == 404
        assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
        assert str(caught.value.request_id).startswith("req_")
    assert "google/gemini-2.5-pro" in [m["id"] for m in plain(gateway, keys.plain)]


@pytest.mark.parametrize("kind", ["unknown", "expired", "revoked"])
def test_sdk_bad_keys_are_authentication_errors(
    gateway: Gateway, keys: Keys, credential: str, kind: str
) -> None:
    key = {"unknown": "sk-quantized-" + "x" * 43, "expired": keys.expired}.get(kind, keys.revoked)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        sdk(gateway, key, credential).models.list()
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_the_shape_raw(gateway: Gateway, keys: Keys) -> None:
    response = get(gateway, keys.plain, "/v1/models?limit=3")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["request-id"] == response.headers["x-request-id"]
    assert "Anthropic-Version" in response.headers["vary"]
    found = response.json()
    assert list(found) == ["data", "has_more", "first_id", "last_id"]
    assert len(found["data"]) == 3 and found["has_more"] is True
    assert (found["first_id"], found["last_id"]) == (found["data"][0]["id"], found["data"][2]["id"])
    for model in found["data"]:
        assert set(model) == MODEL_FIELDS and model["type"] == "model"
        assert RFC3339_UTC.match(model["created_at"]), model
    one = get(gateway, keys.plain, f"/v1/models/{found['first_id']}")
    assert one.status_code == 200 and one.json() == found["data"][0]
    schemas.AnthropicModelList.model_validate(found)  # what the OpenAPI document says
    schemas.AnthropicModel.model_validate(one.json())
    head = httpx.head(
        f"{gateway.url}/v1/models?limit=3",
        headers={"x-api-key": keys.plain, "anthropic-version": VERSION},
    )
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == response.headers["content-length"]
    again = get(
        gateway, keys.plain, "/v1/models?limit=3", **{"If-None-Match": head.headers["etag"]}
    )
    assert again.status_code == 304 and again.headers["request-id"]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "two", "1.5", "", "1e2", "٣"])
def test_limit_out_of_range_is_a_400_in_anthropic_shape(
    gateway: Gateway, keys: Keys, limit: str
) -> None:
    response = get(gateway, keys.plain, f"/v1/models?limit={limit}")
    assert "limit" in assert_anthropic_error(response, 400, "invalid_request_error")


def test_limit_bounds_hold(gateway: Gateway, keys: Keys) -> None:
    everything = [m["id"] for m in plain(gateway, keys.plain)]
    assert ids(page(gateway, keys.plain, "limit=1")) == everything[:1]
    whole = page(gateway, keys.plain, "limit=1000")
    assert ids(whole) == everything and whole["has_more"] is False


def test_cursors(gateway: Gateway, keys: Keys) -> None:
    every = [m["id"] for m in plain(gateway, keys.plain)]
    after = page(gateway, keys.plain, f"after_id={every[1]}&limit=2")
    assert ids(after) == every[2:4] and after["has_more"] is True
    before = page(gateway, keys.plain, f"before_id={every[4]}&limit=2")
    assert ids(before) == every[2:4] and before["has_more"] is True
    start = page(gateway, keys.plain, f"before_id={every[1]}&limit=5")
    assert ids(start) == every[:1] and start["has_more"] is False
    for query in (f"after_id={every[-1]}", f"before_id={every[0]}"):
        empty = page(gateway, keys.plain, query)
        assert empty == {"data": [], "has_more": False, "first_id": None, "last_id": None}
    backwards = sdk(gateway, keys.plain).models.list(before_id=every[-1], limit=2)
    walked = [m.id for m in backwards]  # pages follow first_id back to the start
    assert sorted(walked) == every[:-1] and len(walked) == len(every) - 1


def test_bad_cursors_are_400s(gateway: Gateway, keys: Keys) -> None:
    every = [m["id"] for m in plain(gateway, keys.plain)]
    hidden = next(i for i in every if not i.startswith(("openai/", "anthropic/claude-")))
    for key, query, param in (
        (keys.plain, "after_id=openai/no-such-model", "after_id"),
        (keys.plain, "before_id=", "before_id"),
        (keys.restricted, f"after_id={hidden}", "after_id"),  # there, but not for this key
        (keys.plain, f"after_id={every[0]}&before_id={every[2]}", "before_id"),
        (keys.plain, "after_id=a&after_id=b", "after_id"),
        (keys.plain, "page=2", "page"),
    ):
        message = assert_anthropic_error(
            get(gateway, key, f"/v1/models?{query}"), 400, "invalid_request_error"
        )
        assert param in message, (query, message)
    assert page(gateway, keys.plain, f"after_id={hidden}&limit=1")["data"]


def test_the_listing_filters_apply(gateway: Gateway, keys: Keys) -> None:
    wanted = [m["id"] for m in plain(gateway, keys.plain, "?author=openai")]
    assert wanted and ids(page(gateway, keys.plain, "author=openai&limit=1000")) == wanted


def test_other_errors_are_in_anthropic_shape(gateway: Gateway, keys: Keys) -> None:
    missing = httpx.get(f"{gateway.url}/v1/models", headers={"anthropic-version": VERSION})
    assert_anthropic_error(missing, 401, "authentication_error")
    posted = httpx.post(
        f"{gateway.url}/v1/models",
        headers={"x-api-key": keys.plain, "anthropic-version": VERSION},
        content=b"{}",
    )
    assert_anthropic_error(posted, 405, "invalid_request_error")
    assert posted.headers["allow"] == "GET, HEAD"
    query = get(gateway, keys.plain, "/v1/models/openai/gpt-4.1?x=1")
    assert_anthropic_error(query, 400, "invalid_request_error")


def test_without_the_header_nothing_changes(gateway: Gateway, keys: Keys) -> None:
    listed = plain(gateway, keys.plain)
    by_api_key = httpx.get(f"{gateway.url}/v1/models", headers={"x-api-key": keys.plain})
    assert by_api_key.status_code == 200 and by_api_key.json() == listed
    paged = httpx.get(
        f"{gateway.url}/v1/models?limit=2", headers={"Authorization": f"Bearer {keys.plain}"}
    )
    assert paged.status_code == 400 and paged.json()["error"]["param"] == "limit"
    assert "request-id" not in paged.headers
    unknown = httpx.get(f"{gateway.url}/v1/models/openai/nope", headers={"x-api-key": keys.plain})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
