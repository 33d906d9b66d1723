"""OpenAI's Responses API (``POST /v1/responses``) as a surface of the pipeline.

An upstream that serves the Responses API itself (``responses: true`` in the
catalog) gets the client's body with only the model replaced, and its answer is
relayed byte for byte (``quantized.gateway.responses.relay``), so every field and
tool type works as it does there. Any other upstream gets the request translated
into chat completions (``quantized.gateway.responses.to_chat``), sent through its
provider like any chat completion (Anthropic's translates it once more), and the
answer translated back into the Responses format and its exact event sequence
(``quantized.gateway.responses.from_chat``). Hosted tools such an upstream
cannot run are dropped, and the ``x-quantized-warning`` header says which.

Stored responses are the gateway's own, whatever the upstream: a request that
continues one (``previous_response_id``) is sent with the whole conversation as
its input, and a response made with ``store`` (OpenAI's default) is kept for its
caller before the client's answer ends (``quantized.gateway.responses.stored``).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import orjson

from quantized.errors import InvalidRequestError, NotFoundError, QuantizedError
from quantized.gateway.providers.base import json_answer
from quantized.gateway.providers.openai import openai_call
from quantized.gateway.responses.from_chat import ResponsesFromChat, whole_response
from quantized.gateway.responses.relay import ResponsesRelay, usage_of
from quantized.gateway.responses.request import ResponsesRequest, parse_responses_request
from quantized.gateway.responses.stored import Caller, ResponseStore, StoredResponse, ensure_ids
from quantized.gateway.responses.to_chat import Translation, translate
from quantized.gateway.streams import Headers, StreamTranslator, UpstreamCall, Usage
from quantized.gateway.surfaces.base import Surface

if TYPE_CHECKING:
    from quantized.gateway.router import Route

log = logging.getLogger("quantized.gateway")


def response_id() -> str:
    return "resp_" + secrets.token_hex(24)


def replayable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stored conversation as input: reasoning items the upstream cannot read back (no
    ``encrypted_content``) are left out, as an upstream that stored nothing would refuse
    their ids."""
    return [
        item for item in items if item.get("type") != "reasoning" or item.get("encrypted_content")
    ]


def passthrough(request: ResponsesRequest, route: Route) -> UpstreamCall:
    """The client's body for an upstream that serves the Responses API, but the model (and a
    stored conversation spelled out, since that upstream never saw it)."""
    body = dict(request.body)
    body["model"] = route.upstream.model
    if request.previous_response_id is not None:  # the gateway's id: the upstream never saw it
        body["input"] = request.conversation
        body.pop("previous_response_id", None)
    return openai_call(route.upstream, route.api_key, "/responses", orjson.dumps(body))


class Responses(Surface[ResponsesRequest]):
    name = "responses"
    endpoint = "responses"

    def __init__(self, store: ResponseStore | None) -> None:
        self._store = store
        """Where ``store: true`` responses are kept; ``None`` keeps none."""

    def parse(self, body: bytes | bytearray, headers: Headers) -> ResponsesRequest:
        return parse_responses_request(body)

    async def prepare(self, request: ResponsesRequest, caller: Caller) -> None:
        previous = request.previous_response_id
        if previous is None:
            return
        stored = await self._store.get(caller, previous) if self._store is not None else None
        if stored is None:
            raise NotFoundError(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        request.history = replayable(stored.conversation())

    def translation(self, request: ResponsesRequest, route: Route) -> Translation:
        """The request as chat completions (made once: it depends on the model, not the
        route)."""
        if request.translation is None:
            try:
                request.translation = translate(request, route.model)
            except QuantizedError:
                raise
            except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
                log.warning("untranslatable Responses request (%s: %s)", type(exc).__name__, exc)
                raise InvalidRequestError(
                    "The request cannot be translated for this model's upstream "
                    "(an input item or tool of an unexpected shape)."
                ) from None
        return request.translation  # type: ignore[no-any-return]

    def call(self, request: ResponsesRequest, route: Route) -> UpstreamCall:
        if route.upstream.responses:
            return passthrough(request, route)
        chat = self.translation(request, route).chat
        return route.provider.call(chat, route.upstream, route.api_key)

    def whole(self, request: ResponsesRequest, route: Route, body: bytes) -> tuple[bytes, Usage]:
        if route.upstream.responses:
            request.result = json_answer(body)
            return body, usage_of(request.result) or Usage()
        translation = self.translation(request, route)
        completion, usage = route.provider.completion(translation.chat, body)
        request.result = whole_response(
            json_answer(completion), usage, request, translation, response_id(), int(time.time())
        )
        return orjson.dumps(request.result), usage

    def stream(self, request: ResponsesRequest, route: Route) -> StreamTranslator:
        translator: ResponsesRelay | ResponsesFromChat
        if route.upstream.responses:
            translator = ResponsesRelay()
        else:
            translation = self.translation(request, route)
            translator = ResponsesFromChat(
                route.provider.translator(translation.chat),
                request,
                translation,
                response_id(),
                int(time.time()),
            )
        request.streamed = translator
        return translator

    def headers(self, request: ResponsesRequest, route: Route) -> Headers:
        translation = request.translation
        if route.upstream.responses or translation is None or not translation.dropped:
            return []
        dropped = ", ".join(translation.dropped)
        warning = f"hosted tools dropped (the upstream cannot run them): {dropped}"
        return [(b"x-quantized-warning", warning.encode())]

    async def answered(self, request: ResponsesRequest, caller: Caller) -> None:
        streamed = request.streamed
        response = request.result if streamed is None else streamed.response
        if not request.store or self._store is None or not isinstance(response, dict):
            return
        found = response.get("id")
        if not isinstance(found, str) or not found:
            return
        stored = StoredResponse(
            id=found,
            caller=caller,
            created_at=time.time(),
            model=request.model,
            response=response,
            input_items=ensure_ids(request.items),
            context=request.history,
        )
        try:
            await self._store.put(stored)
        except Exception:  # the answer stands; only its continuation is lost
            log.exception("could not store response %s", found)

    def estimate(self, request: ResponsesRequest, translator: StreamTranslator) -> Usage:
        """The input at about four characters a token, one output token per delta sent."""
        return Usage(
            prompt_tokens=request.estimated_input_tokens(), completion_tokens=translator.chunks
        )
