"""``GET /v1/models`` and ``GET /v1/models/{id}``: the contract, on the fast path.

These two routes are the ones callers hit most, so they bypass the framework:
no routing table, no request objects, no serialisation. Authentication is one
digest and one dict lookup; the body is bytes the catalog rendered when it last
changed. :meth:`ModelsEndpoint.respond` is synchronous and transport-free, so the
HTTP protocol (``quantized.server.protocol``) can answer from it without an ASGI
task, and any ASGI server can still run the same logic through ``__call__``.

Official OpenAI SDKs (``X-Stainless-Lang``, ``User-Agent: OpenAI/…``) get the
``{"object": "list", "data": [...]}`` envelope their parsers need; every other
client gets the documented bare array. Every answer carries an ``ETag`` (a
matching ``If-None-Match`` gets 304) and ``Cache-Control: private``; bodies over
1 KiB are sent gzip-compressed to clients that accept it.
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
from quantized.api.errors import Reply, error_reply
from quantized.api.requests import Parameters, PathParameters
from quantized.api.routing import Answer, Declared, Header, Operation
from quantized.auth.principal import Principal
from quantized.auth.refresh import RefreshRequired
from quantized.catalog.filters import AUTHOR, ListingFilter, parse_filters
from quantized.catalog.listing import Body
from quantized.catalog.model import FEATURES, MODALITIES
from quantized.catalog.schema import Author, Slug, SlugAlias
from quantized.errors import InvalidRequestError, MethodNotAllowedError, QuantizedError
from quantized.runtime.state import LiveState

LIST_PATH = "/v1/models"
ITEM_PREFIX = "/v1/models/"
GZIP_MIN_BYTES = 1024
_ALLOW = ("GET", "HEAD")
_JSON = (b"content-type", b"application/json")
_VARY = (b"vary", b"Authorization, X-Stainless-Lang, User-Agent, Accept-Encoding")
_GZIP = (b"content-encoding", b"gzip")
_SDK_AGENT = b"OpenAI/"
_FILTER_CACHE = 1024
_ANSWERS = 4096
_UNPARSED = object()


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
    ) -> Reply:
        """The complete response, computed without I/O.

        Raises :class:`RefreshRequired` (only if ``may_refresh``) when a JWT names signing
        keys that must be fetched first; :meth:`__call__` does that and asks again.
        ``caller`` authenticates the ``Authorization`` header instead of the authenticator
        itself (the fast protocol remembers the caller of its connection's last request).
        """
        authorization = accept_encoding = if_none_match = None
        sdk = False
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
            if len(path) == len(LIST_PATH):
                where = self._filter(query) if query else None
                rendered = state.catalog.listing(principal.access, where)
            else:
                if query:
                    raise InvalidRequestError("GET /v1/models/{id} takes no query parameters")
                rendered = state.catalog.item(path[len(ITEM_PREFIX) :], principal.access)
        except QuantizedError as exc:
            status, headers, body = error_reply(exc)
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

    def _answer(self, body: Body, compress: bool) -> _Answer:
        """The answer for a body, made once: its headers do not change while it lives."""
        tag = body.gzip_tag if compress else body.tag
        data = body.gzipped if compress else body.data
        not_modified = ((b"etag", tag), self._cache_control, _VARY)
        headers = (*not_modified, _JSON, (b"content-length", b"%d" % len(data)))
        answer = _Answer(body, tag, data, headers + ((_GZIP,) if compress else ()), not_modified)
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
        try:
            await discard_body(receive, self._max_body)
        except ClientGone:
            return
        except QuantizedError as exc:
            await send_reply(send, error_reply(exc))
            return
        try:
            reply = self.respond(method, path, query, headers)
        except RefreshRequired as pending:
            await pending.source.refetch()
            reply = self.respond(method, path, query, headers, may_refresh=False)
        await send_reply(send, reply)


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


class ModelItem(PathParameters):
    """``author/slug``; the slash may be raw or ``%2F``."""

    author: Author
    slug: Slug


class ModelAlias(PathParameters):
    """An alias without a slash (``claude-sonnet-4-6``); one with a slash fits the path above."""

    alias: SlugAlias


_SDK = Header("X-Stainless-Lang", "Sent by official OpenAI SDKs: selects the SDK envelope")
_NOT_MODIFIED = Answer("Not modified (If-None-Match matched the ETag)")
OPERATIONS = (
    Declared(
        LIST_PATH,
        "GET",
        Operation(
            "List the models the caller may use",
            ("models",),
            {
                200: Answer(
                    "The documented array, or the SDK envelope",
                    {
                        "oneOf": [
                            {"type": "array", "items": schemas.PublicModel},
                            schemas.SdkModelList,
                        ]
                    },
                ),
                304: _NOT_MODIFIED,
            },
            security="caller",
            query=ListingQuery,
            headers=(_SDK,),
        ),
    ),
    Declared(
        ITEM_PREFIX + "{author}/{slug}",
        "GET",
        Operation(
            "Retrieve one model",
            ("models",),
            {
                200: Answer(
                    "The model (SDK requests get the SDK fields too)",
                    {"oneOf": [schemas.SdkModel, schemas.PublicModel]},
                ),
                304: _NOT_MODIFIED,
            },
            security="caller",
            path=ModelItem,
            headers=(_SDK,),
            errors=(410,),
        ),
    ),
    Declared(
        ITEM_PREFIX + "{alias}",
        "GET",
        Operation(
            "Retrieve one model by an alias",
            ("models",),
            {
                200: Answer(
                    "The model the alias names, exactly as by its id (the id is the model's)",
                    {"oneOf": [schemas.SdkModel, schemas.PublicModel]},
                ),
                304: _NOT_MODIFIED,
            },
            security="caller",
            path=ModelAlias,
            headers=(_SDK,),
            errors=(410,),
        ),
    ),
)
