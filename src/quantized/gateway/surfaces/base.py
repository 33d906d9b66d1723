"""An API surface: what a model endpoint plugs into the pipeline.

The pipeline (``quantized.gateway.pipeline``) is the same for every model API:
authenticate, parse, resolve the model, check what the request asks of it,
budget, rate limit, route with fallback, relay, record. A surface supplies the
two ends that differ — how a request body is read (:meth:`Surface.parse`) and
how an upstream's answer is written in the surface's own format, whole or
streamed — so a new endpoint is a new surface, never a copy of the pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from quantized.gateway.streams import Headers, StreamTranslator, UpstreamCall, Usage

if TYPE_CHECKING:
    from quantized.gateway.router import Route


class ModelRequest(Protocol):
    """What the pipeline needs to know of any parsed request."""

    @property
    def model(self) -> str: ...

    @property
    def stream(self) -> bool: ...

    @property
    def modalities(self) -> dict[str, str]:
        """Non-text input modalities used, each with the param of its first use."""

    @property
    def uses_tools(self) -> bool: ...

    @property
    def wants_json_schema(self) -> bool: ...

    @property
    def json_schema_param(self) -> str:
        """Where the request asks for structured output, to name it in a refusal."""

    @property
    def max_output_tokens(self) -> int | None:
        """The most tokens the answer may have, as the request bounds it (``None``: it does
        not), for the worst case reserved against budgets."""


R = TypeVar("R", bound=ModelRequest)


class Surface(ABC, Generic[R]):
    """One model API, such as OpenAI's chat completions."""

    name: str
    endpoint: str
    """The catalog's name for this API (``Model.endpoints``): a model that does not list
    it is refused before any upstream is called."""

    @abstractmethod
    def parse(self, body: bytes | bytearray, headers: Headers) -> R:
        """The request in ``body`` (and the request ``headers`` the surface passes on),
        checked enough to route and bill it (or a 400)."""

    @abstractmethod
    def call(self, request: R, route: Route) -> UpstreamCall | None:
        """The upstream request for ``route``; ``None`` if the surface answers this route
        itself (:meth:`whole` then gets an empty body)."""

    @abstractmethod
    def whole(self, request: R, route: Route, body: bytes) -> tuple[bytes, Usage]:
        """The upstream's whole answer in this surface's format, with the usage it reported."""

    @abstractmethod
    def stream(self, request: R, route: Route) -> StreamTranslator:
        """A translator from the upstream's stream to this surface's events."""

    async def prepare(self, request: R, caller: tuple[str, str]) -> None:
        """Complete the request with what the gateway keeps for ``caller`` (kind, id), such as
        the stored conversation a Responses request continues; before any check of the model."""

    async def answered(self, request: R, caller: tuple[str, str]) -> None:
        """Keep what the answer leaves behind (a stored response), before the client's
        answer ends; called once a whole answer is made or a stream has ended well."""

    def headers(self, request: R, route: Route) -> Headers:
        """Response headers of the surface's own for a whole answer from ``route``."""
        return []

    @abstractmethod
    def estimate(self, request: R, translator: StreamTranslator) -> Usage:
        """Tokens for a stream whose upstream never reported usage (the client left first)."""
