"""``GET /v1/models`` and ``GET /v1/models/{id}``: the contract, on the fast path.

These two routes are the ones callers hit most, so they bypass the framework:
no routing table, no request objects, no serialisation. Authentication is one
digest and one dict lookup; the body is bytes the catalog rendered when it last
changed. :meth:`ModelsEndpoint.respond` is synchronous and transport-free, so the
HTTP protocol (``quantized.server.protocol``) can answer from it without an ASGI
task, and any ASGI server can still run the same logic through ``__call__``.

Official OpenAI SDKs (``X-Stainless-Lang``, ``User-Agent: OpenAI/…``) get the
``{"object": "list", "data": [...]}`` envelope their parsers need; every other
client gets the documented bare array.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from quantized.api.asgi import Headers, Receive, Reply, Scope, Send, error_reply, send_reply
from quantized.auth.refresh import RefreshRequired
from quantized.errors import MethodNotAllowedError, NotFoundError, QuantizedError
from quantized.runtime.state import LiveState

LIST_PATH = "/v1/models"
ITEM_PREFIX = "/v1/models/"
_ALLOW = ("GET", "HEAD")
_JSON = (b"content-type", b"application/json")
_VARY = (b"vary", b"Authorization, X-Stainless-Lang, User-Agent")
_SDK_AGENT = b"OpenAI/"


def is_models_path(path: str) -> bool:
    return path == LIST_PATH or (path.startswith(ITEM_PREFIX) and len(path) > len(ITEM_PREFIX))


class ModelsEndpoint:
    """Answers ``/v1/models`` and ``/v1/models/{id}`` from the live state."""

    def __init__(self, state: LiveState) -> None:
        self._state = state

    def respond(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[bytes, bytes]],
        *,
        may_refresh: bool = True,
    ) -> Reply:
        """The complete response, computed without I/O.

        Raises :class:`RefreshRequired` (only if ``may_refresh``) when a JWT names signing
        keys that must be fetched first; :meth:`__call__` does that and asks again.
        """
        authorization = None
        sdk = False
        for name, value in headers:
            if name == b"authorization":
                authorization = value
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
            principal = state.authenticate(authorization, time.time(), may_refresh=may_refresh)
            if len(path) == len(LIST_PATH):
                rendered = state.catalog.listing(principal.access)
            else:
                model_id = path[len(ITEM_PREFIX) :]
                found = state.catalog.item(model_id, principal.access)
                if found is None:
                    raise NotFoundError(
                        f"The model '{model_id[:200]}' does not exist or you do not have "
                        "access to it.",
                        code="model_not_found",
                    )
                rendered = found
        except QuantizedError as exc:
            return error_reply(exc)
        body = rendered.sdk if sdk else rendered.plain
        headers_out: Headers = [_JSON, (b"content-length", b"%d" % len(body)), _VARY]
        return 200, headers_out, b"" if method == "HEAD" else body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path, headers = scope["method"], scope["path"], scope["headers"]
        try:
            reply = self.respond(method, path, headers)
        except RefreshRequired as pending:
            await pending.source.refetch()
            reply = self.respond(method, path, headers, may_refresh=False)
        await send_reply(send, reply)
