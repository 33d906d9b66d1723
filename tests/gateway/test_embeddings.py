"""The embeddings surface in process: what it accepts, what it sends, how it reads usage."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from quantized.catalog.model import Cost, Model, Upstream
from quantized.errors import BadGatewayError, InvalidRequestError
from quantized.gateway.providers.openai import OpenAIProvider
from quantized.gateway.router import Route
from quantized.gateway.streams import Usage
from quantized.gateway.surfaces.embeddings import (
    EMBEDDINGS,
    parse_embeddings_request,
    reported_usage,
)

UPSTREAM = Upstream("openai", "http://127.0.0.1:9/v1/", "text-embedding-3-small")
MODEL = Model("openai/embed", "Embed", Cost(0.02, 0, 0.02), endpoints=("embeddings",))
ROUTE = Route(MODEL, UPSTREAM, OpenAIProvider(), "sk-provider")


def body(**fields: Any) -> bytes:
    return json.dumps({"model": "m", "input": "hello", **fields}).encode()


def rejected(data: bytes) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        parse_embeddings_request(data)
    return info.value


@pytest.mark.parametrize(
    "value",
    [
        "hello",
        ["a", "b c"],
        [1, 2, 3],
        [0],
        [[1, 2], [3]],
        [2**63 - 1],
    ],
)
def test_every_input_shape_is_accepted(value: Any) -> None:
    request = parse_embeddings_request(body(input=value))
    assert request.body["input"] == value
    assert (request.model, request.stream, request.modalities) == ("m", False, {})
    assert not request.uses_tools and not request.wants_json_schema


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": None}, "input"),
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": 7}, "input"),
        ({"input": {"text": "x"}}, "input"),
        ({"input": ["a", ""]}, "input[1]"),
        ({"input": ["a", 1]}, "input[1]"),
        ({"input": [1, "a"]}, "input[1]"),
        ({"input": [1, -1]}, "input[1]"),
        ({"input": [1, True]}, "input[1]"),
        ({"input": [1, 1.5]}, "input[1]"),
        ({"input": [True]}, "input[0]"),
        ({"input": [2**64 - 1]}, "input[0]"),
        ({"input": [[1], []]}, "input[1]"),
        ({"input": [[1], [-2]]}, "input[1]"),
        ({"input": [[1], ["a"]]}, "input[1]"),
        ({"input": [[1], 2]}, "input[1]"),
        ({"input": [None]}, "input[0]"),
        ({"model": ""}, "model"),
        ({"model": 3}, "model"),
        ({"encoding_format": "int8"}, "encoding_format"),
        ({"encoding_format": 1}, "encoding_format"),
        ({"dimensions": 0}, "dimensions"),
        ({"dimensions": -3}, "dimensions"),
        ({"dimensions": "x"}, "dimensions"),
        ({"dimensions": 1.5}, "dimensions"),
        ({"dimensions": 2**70}, "dimensions"),
        ({"user": 5}, "user"),
    ],
)
def test_bad_fields_are_400_naming_them(fields: dict[str, Any], param: str) -> None:
    assert rejected(body(**fields)).param == param


def test_a_missing_input_is_required() -> None:
    error = rejected(orjson.dumps({"model": "m"}))
    assert error.param == "input" and "required" in error.message


def test_optional_fields_may_be_null_and_unknown_ones_are_kept() -> None:
    request = parse_embeddings_request(
        body(encoding_format=None, dimensions=None, user=None, vendor_x={"a": [1]})
    )
    assert request.body["vendor_x"] == {"a": [1]}
    request = parse_embeddings_request(body(dimensions=256.0, encoding_format="base64", user="u"))
    assert request.body["dimensions"] == 256 and isinstance(request.body["dimensions"], int)


def test_the_upstream_call_has_the_upstream_model_and_bearer_key() -> None:
    request = parse_embeddings_request(body(input=["a", "b"], dimensions=8, vendor_x=True))
    call = EMBEDDINGS.call(request, ROUTE)
    assert call.url == "http://127.0.0.1:9/v1/embeddings"
    assert (b"authorization", b"Bearer sk-provider") in call.headers
    assert (b"content-type", b"application/json") in call.headers
    sent = orjson.loads(call.body)
    assert sent == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "dimensions": 8,
        "vendor_x": True,
    }
    assert request.body["model"] == "m"  # the parsed request is unchanged


VECTORS = b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}]'


def test_the_answer_is_relayed_byte_for_byte_with_its_usage() -> None:
    answer = VECTORS + b',"model":"x","usage":{"prompt_tokens":7,"total_tokens":7}}'
    request = parse_embeddings_request(body())
    relayed, usage = EMBEDDINGS.whole(request, ROUTE, answer)
    assert relayed is answer
    assert usage == Usage(prompt_tokens=7)


@pytest.mark.parametrize(
    "tail",
    [
        b'  ,\n "usage" :\n {"prompt_tokens": 12, "total_tokens": 12} }\n',
        b',"usage":{"prompt_tokens":12,"total_tokens":12},"model":"usage"}',
        b',"usage":{"prompt_tokens":12},"note":{"a\\"usage": {"prompt_tokens": 99}}}',
        b',"usage":{"prompt_tokens":12},"model":"a\\"usage\\": {\\"prompt_tokens\\": 99}"}',
        b',"usage":{"prompt_tokens":12},"note":{"x\\\\":"usage"}}',
    ],
)
def test_usage_is_found_wherever_the_text_usage_also_appears(tail: bytes) -> None:
    assert reported_usage(VECTORS + tail) == Usage(prompt_tokens=12)


@pytest.mark.parametrize(
    "tail",
    [
        b',"model":"x"}',
        b',"usage":null}',
        b',"usage":{"prompt_tokens":0}}',
        b',"usage":{"prompt_tokens":"many"}}',
        b',"usage":{"prompt_tokens":' + b" " * 5000 + b"3}}",
    ],
)
def test_an_answer_without_usage_is_billed_at_an_honest_estimate(tail: bytes) -> None:
    cases = {
        "a" * 40: 10,
        "abc": 1,
        ("a" * 8, "b"): 2 + 1,
        (5, 6, 7): 3,
        ((1, 2), (3, 4, 5)): 5,
    }
    for value, tokens in cases.items():
        data = orjson.dumps({"model": "m", "input": value})
        request = parse_embeddings_request(data)
        _, usage = EMBEDDINGS.whole(request, ROUTE, VECTORS + tail)
        assert usage == Usage(prompt_tokens=tokens, estimated=True), value


@pytest.mark.parametrize("answer", [b"<html>Bad gateway</html>", b"[1, 2]", b"", b'{"a": 1'])
def test_an_answer_that_is_not_an_object_is_the_upstreams_fault(answer: bytes) -> None:
    with pytest.raises(BadGatewayError) as info:
        EMBEDDINGS.whole(parse_embeddings_request(body()), ROUTE, answer)
    assert info.value.code == "upstream_invalid_response"


def test_integral_floats_are_tokens_sent_on_as_integers() -> None:
    """JSON Schema (and so the document) counts 54.0 as an integer: it is taken as 54."""
    request = parse_embeddings_request(b'{"model": "m", "input": [[1.0, 2], [3]]}')
    assert request.body["input"] == [[1, 2], [3]]
    assert all(type(t) is int for row in request.body["input"] for t in row)
    flat = parse_embeddings_request(b'{"model": "m", "input": [54.0, 84185]}')
    assert flat.body["input"] == [54, 84185] and type(flat.body["input"][0]) is int
