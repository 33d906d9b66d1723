"""``GET /v1/models`` and ``GET /v1/models/{id}``: the contract, on the fast path.

These two routes are the ones callers hit most, so they bypass the framework:
no routing table, no request objects, no serialisation. Authentication is one
digest and one dict lookup; the body is bytes the catalog rendered when it last
changed. :meth:`ModelsEndpoint.respond` is synchronous and transport-free, so the
HTTP protocol (``quantized.server.protocol``) can answer from it without an ASGI
task, and any ASGI server can still run the same logic through ``__call__``.

Official OpenAI SDKs (``X-Stainless-Lang``, ``User-Agent: OpenAI/…``) get the
``{"object": "list", "data": [...]}`` envelope their parsers need; every other
client gets the documented bare array. A request with an ``anthropic-version``
header (Anthropic's SDKs always send one) gets Anthropic's shape instead, paged
by cursor (``quantized.catalog.pages``), and its errors in Anthropic's shape: the
same access rule, rendered per request, still without I/O. ``x-api-key`` is read
as the credential when there is no ``Authorization``, as on every model route.
Every answer carries an ``ETag`` (a matching ``If-None-Match`` gets 304) and
``Cache-Control: private``; bodies over 1 KiB are sent gzip-compressed to
clients that accept it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from quantized.api import schemas
from quantized.api.asgi import Receive, Scope, Send, send_reply
from quantized.api.bodies import ClientGone, discard_body
from quantized.api.boundary import REQUEST_ID
from quantized.api.errors import ANTHROPIC, OPENAI, ErrorShape, Reply, error_reply
from quantized.api.model_route import choose_credential
from quantized.api.requests import Parameters, PathParameters
from quantized.api.routing import Answer, Declared, Header, Operation
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.catalog.access import ModelAccess
from quantized.catalog.filters import AUTHOR, ListingFilter, parse_filters
from quantized.catalog.listing import Body, Catalog
from quantized.catalog.model import ENDPOINTS, FEATURES, MODALITIES
from quantized.catalog.pages import MAX_LIMIT, parse_page, render_model, render_page
from quantized.catalog.schema import Author, Slug, SlugAlias
from quantized.errors import InvalidRequestError, MethodNotAllowedError, QuantizedError
from quantized.runtime.state import LiveState

LIST_PATH = "/v1/models"
ITEM_PREFIX = "/v1/models/"
GZIP_MIN_BYTES = 1024
_ALLOW = ("GET", "HEAD")
_JSON = (b"content-type", b"application/json")
_VARY = (
    b"vary",
    b"Authorization, X-Api-Key, Anthropic-Version, X-Stainless-Lang, User-Agent, Accept-Encoding",
)
_GZIP = (b"content-encoding", b"gzip")
_SDK_AGENT = b"OpenAI/"
_FILTER_CACHE = 1024
_ANSWERS = 4096
_UNPARSED = object()


ITEM_ROUTE = ITEM_PREFIX + "{model}"


def route_template(path: str) -> str:
    """The route a models path is counted under (never the raw path: model ids vary)."""
    return LIST_PATH if path == LIST_PATH else ITEM_ROUTE


def is_models_path(path: str) -> bool:
    return path == LIST_PATH or (path.startswith(ITEM_PREFIX) and len(path) > len(ITEM_PREFIX))


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether ``Accept-Encoding`` admits gzip (``gzip`` or ``*`` without ``q=0``)."""
    for part in accept_encoding.lower().split(b","):
        coding, _, params = part.partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            quality = params.strip().removeprefix(b"q=")
            return not quality or quality.strip(b"0.") != b""
    return False


def matches(if_none_match: bytes, tag: bytes) -> bool:
    """``If-None-Match`` weak comparison against an entity tag."""
    if if_none_match.strip() == b"*":
        return True
    return any(
        candidate.strip().removeprefix(b"W/") == tag for candidate in if_none_match.split(b",")
    )


@dataclass(frozen=True, slots=True)
class _Answer:
    body: Body
    tag: bytes
    data: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    not_modified: tuple[tuple[bytes, bytes], ...]


def render(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


class ModelsEndpoint:
    """Answers ``/v1/models`` and ``/v1/models/{id}`` from the live state."""

    def __init__(
        self, state: LiveState, max_age: int = 0, max_body: int = 32 * 1024 * 1024
    ) -> None:
        self._state = state
        self._max_body = max_body
        self._cache_control = (b"cache-control", b"private, max-age=%d" % max_age)
        self._filters: dict[bytes, ListingFilter | None] = {}
        self._answers: dict[tuple[int, bool], _Answer] = {}
        """Answers by rendered body (its id: the answer keeps the body, so the id is its own)."""
        self._blocks: dict[int, tuple[object, bytes]] = {}
        """Rendered header lines by the header tuple they render (kept alive by the value)."""

    def _filter(self, query: bytes) -> ListingFilter | None:
        """Parsed filters, remembered by query string (bounded): parsing is not free."""
        where = self._filters.get(query, _UNPARSED)
        if where is _UNPARSED:
            where = parse_filters(query.decode("latin-1"))
            if len(self._filters) >= _FILTER_CACHE:
                self._filters.clear()
            self._filters[query] = where
        return where  # type: ignore[return-value]

    def respond(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        *,
        may_refresh: bool = True,
        caller: Callable[[bytes | None], Principal] | None = None,
        request_id: bytes | None = None,
    ) -> Reply:
        """The complete response, computed without I/O.

        Raises :class:`RefreshRequired` (only if ``may_refresh``) when a JWT names signing
        keys that must be fetched first; :meth:`__call__` does that and asks again.
        ``caller`` authenticates the credential instead of the authenticator itself (the
        fast protocol remembers the caller of its connection's last request). Anthropic's
        answers carry ``request_id`` as ``request-id`` too (``x-request-id`` is added by
        whoever sends the reply).
        """
        authorization = api_key = accept_encoding = if_none_match = None
        sdk = anthropic = False
        for name, value in headers:
            if name == b"authorization":
                authorization = value
            elif name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"x-stainless-lang" or (
                name == b"user-agent" and value.startswith(_SDK_AGENT)
            ):
                sdk = True
            elif name == b"anthropic-version":
                anthropic = True
            elif name == b"x-api-key":
                api_key = value
        if api_key is not None:
            authorization = choose_credential(authorization, api_key)
        try:
            if method != "GET" and method != "HEAD":
                raise MethodNotAllowedError(
                    f"Method {method} is not allowed on {path}; use GET.", allow=_ALLOW
                )
            state = self._state
            principal = (
                caller(authorization)
                if caller is not None
                else state.auth.authenticate(authorization, time.time(), may_refresh=may_refresh)
            )
            if anthropic:
                data = anthropic_body(state.catalog, path, query, principal.access)
                return self._once(data, method, accept_encoding, if_none_match, request_id)
            if len(path) == len(LIST_PATH):
                where = self._filter(query) if query else None
                rendered = state.catalog.listing(principal.access, where)
            else:
                if query:
                    raise InvalidRequestError("GET /v1/models/{id} takes no query parameters")
                rendered = state.catalog.item(path[len(ITEM_PREFIX) :], principal.access)
        except QuantizedError as exc:
            shape = ANTHROPIC if anthropic else OPENAI
            status, headers, body = error_reply(exc, shape, extra=own_id(shape, request_id))
            return status, headers, b"" if method == "HEAD" else body
        return self._reply(
            rendered.sdk if sdk else rendered.plain, method, accept_encoding, if_none_match
        )

    def _reply(
        self, body: Body, method: str, accept_encoding: bytes | None, if_none_match: bytes | None
    ) -> Reply:
        compress = (
            accept_encoding is not None
            and len(body.data) > GZIP_MIN_BYTES
            and accepts_gzip(accept_encoding)
        )
        answer = self._answers.get((id(body), compress))
        if answer is None or answer.body is not body:
            answer = self._answer(body, compress)
        if if_none_match is not None and matches(if_none_match, answer.tag):
            return 304, answer.not_modified, b""
        return 200, answer.headers, b"" if method == "HEAD" else answer.data

    def _once(
        self,
        data: bytes,
        method: str,
        accept_encoding: bytes | None,
        if_none_match: bytes | None,
        request_id: bytes | None,
    ) -> Reply:
        """A reply for a body rendered for this request only: made, not remembered."""
        body = Body(data)
        compress = (
            accept_encoding is not None
            and len(data) > GZIP_MIN_BYTES
            and accepts_gzip(accept_encoding)
        )
        answer = self._make(body, compress)
        extra = own_id(ANTHROPIC, request_id)
        if if_none_match is not None and matches(if_none_match, answer.tag):
            return 304, answer.not_modified + extra, b""
        return 200, answer.headers + extra, b"" if method == "HEAD" else answer.data

    def _make(self, body: Body, compress: bool) -> _Answer:
        tag = body.gzip_tag if compress else body.tag
        data = body.gzipped if compress else body.data
        not_modified = ((b"etag", tag), self._cache_control, _VARY)
        headers = (*not_modified, _JSON, (b"content-length", b"%d" % len(data)))
        return _Answer(body, tag, data, headers + ((_GZIP,) if compress else ()), not_modified)

    def _answer(self, body: Body, compress: bool) -> _Answer:
        """The answer for a body, made once: its headers do not change while it lives."""
        answer = self._make(body, compress)
        if len(self._answers) >= _ANSWERS:
            self._answers.clear()
            self._blocks.clear()
        self._answers[(id(body), compress)] = answer
        for block in (answer.headers, answer.not_modified):
            self._blocks[id(block)] = (block, render(block))
        return answer

    def header_block(self, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
        """``headers`` as HTTP/1.1 lines: rendered once for the answers made above."""
        block = self._blocks.get(id(headers))
        if block is not None and block[0] is headers:
            return block[1]
        return render(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI path (the fast protocol hands requests with a body, or that need I/O,
        to it): the same answers, after reading any body within the size limit."""
        method, path = scope["method"], scope["path"]
        query, headers = scope["query_string"], scope["headers"]
        request_id = scope.get(REQUEST_ID)
        try:
            await discard_body(receive, self._max_body)
        except ClientGone:
            return
        except QuantizedError as exc:
            anthropic = any(name == b"anthropic-version" for name, _ in headers)
            shape = ANTHROPIC if anthropic else OPENAI
            await send_reply(send, error_reply(exc, shape, extra=own_id(shape, request_id)))
            return
        try:
            reply = self.respond(method, path, query, headers, request_id=request_id)
        except RefreshRequired as pending:
            await pending.source.refetch()
            reply = self.respond(
                method, path, query, headers, may_refresh=False, request_id=request_id
            )
        await send_reply(send, reply)


def anthropic_body(catalog: Catalog, path: str, query: bytes, access: ModelAccess) -> bytes:
    """Anthropic's shape: a page of the listing, or one model (the same errors as the plain
    shape's: a model the caller may not use is not found)."""
    if len(path) == len(LIST_PATH):
        page = parse_page(query.decode("latin-1"))
        return render_page(catalog.visible(access, page.where), page)
    if query:
        raise InvalidRequestError("GET /v1/models/{id} takes no query parameters")
    return render_model(catalog.usable(path[len(ITEM_PREFIX) :], access))


def own_id(shape: ErrorShape, request_id: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
    """The API's own request-id header, if it has one (Anthropic's SDKs read ``request-id``)."""
    if request_id is None or shape.request_id_header is None:
        return ()
    return ((shape.request_id_header, request_id),)


# The declarations of these routes, for the OpenAPI document. The fast path above checks
# them itself (``quantized.catalog.filters``); these patterns describe exactly what it takes.
def _listed(value: str) -> str:
    """Comma-separated values (spaces around them and empty items ignored), at least one."""
    return rf"^(?:\s*,)*\s*{value}\s*(?:,\s*(?:{value}\s*)?)*$"


def _one_of(names: tuple[str, ...]) -> str:
    return "(?:" + "|".join(names) + ")"


class ListingQuery(Parameters):
    author: (
        Annotated[
            str, Field(pattern=_listed(AUTHOR), description="Only models by any of these authors")
        ]
        | None
    ) = None
    input_modality: (
        Annotated[
            str,
            Field(pattern=_listed(_one_of(MODALITIES)), description="Models taking any of these"),
        ]
        | None
    ) = None
    output_modality: (
        Annotated[
            str,
            Field(
                pattern=_listed(_one_of(MODALITIES)), description="Models producing any of these"
            ),
        ]
        | None
    ) = None
    supported_features: (
        Annotated[
            str,
            Field(
                pattern=_listed(_one_of(FEATURES)), description="Models with all of these features"
            ),
        ]
        | None
    ) = None
    endpoint: (
        Annotated[
            str,
            Field(
                pattern=_listed(_one_of(ENDPOINTS)),
                description="Models serving any of these APIs (chat, messages, responses, "
                "embeddings)",
            ),
        ]
        | None
    ) = None


class ModelItem(PathParameters):
    """``author/slug``; the slash may be raw or ``%2F``."""

    author: Author
    slug: Slug


class ModelAlias(PathParameters):
    """An alias without a slash (``claude-sonnet-4-6``); one with a slash fits the path above."""

    alias: SlugAlias


_SDK = Header("X-Stainless-Lang", "Sent by official OpenAI SDKs: selects the SDK envelope")
_NOT_MODIFIED = Answer("Not modified (If-None-Match matched the ETag)")
# Anthropic's shape is documented as an alternative answer and in prose, not as a declared
# ``anthropic-version`` header: OpenAPI cannot tie the paging parameters or the error shape to
# a header's presence, so a declared header would document answers the server never gives.
_ANTHROPIC = (
    "With an `anthropic-version` header (any value; Anthropic's SDKs always send one) the "
    "answer is in Anthropic's shape: {what}. Its errors are Anthropic's too: "
    '`{{"type": "error", "error": {{"type", "message"}}}}`, with a `request-id` header. '
    "The key may also come as `x-api-key: <key>`, the header Anthropic's API takes keys in."
)
_PAGED = (
    '`{"data": [{"type": "model", "id", "display_name", "created_at"}], "has_more", '
    '"first_id", "last_id"}`, paged by the query parameters `limit` (1 to '
    f"{MAX_LIMIT}, default 20) and `after_id` or `before_id` (the `last_id` or `first_id` "
    "of a page: an id the listing holds, else a 400); the filters apply too"
)


def _retrieve(path: str, parameters: type[PathParameters], summary: str, answer: str) -> Declared:
    """A retrieval operation: by id, or by an alias (the same answers)."""
    return Declared(
        ITEM_PREFIX + path,
        "GET",
        Operation(
            summary,
            ("models",),
            {
                200: Answer(
                    f"{answer} (SDK requests get the SDK fields too; Anthropic's, its shape)",
                    {"oneOf": [schemas.SdkModel, schemas.PublicModel, schemas.AnthropicModel]},
                ),
                304: _NOT_MODIFIED,
            },
            security="caller",
            path=parameters,
            headers=(_SDK,),
            errors=(410,),
            description=_ANTHROPIC.format(
                what='`{"type": "model", "id", "display_name", "created_at"}`'
            ),
        ),
    )


OPERATIONS = (
    Declared(
        LIST_PATH,
        "GET",
        Operation(
            "List the models the caller may use",
            ("models",),
            {
                200: Answer(
                    "The documented array, the SDK envelope, or Anthropic's page",
                    {
                        "oneOf": [
                            {"type": "array", "items": schemas.PublicModel},
                            schemas.SdkModelList,
                            schemas.AnthropicModelList,
                        ]
                    },
                ),
                304: _NOT_MODIFIED,
            },
            security="caller",
            query=ListingQuery,
            headers=(_SDK,),
            description=_ANTHROPIC.format(what=_PAGED),
        ),
    ),
    _retrieve("{author}/{slug}", ModelItem, "Retrieve one model", "The model"),
    _retrieve(
        "{alias}",
        ModelAlias,
        "Retrieve one model by an alias",
        "The model the alias names, exactly as by its id (the id is the model's)",
    ),
)
