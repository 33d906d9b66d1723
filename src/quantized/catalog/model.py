"""What a catalog entry is: a model a caller can name, with what it can do and what it costs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

MODALITIES: tuple[str, ...] = ("text", "image", "audio", "video")
"""The four modalities the listing reports, in the order it reports them."""

FEATURES: tuple[str, ...] = (
    "tool_calls",
    "structured_output",
    "reasoning",
    "prompt_caching",
    "web_search",
)
"""The documented feature vocabulary (image input is a modality, not a feature)."""

STATUSES: tuple[str, ...] = ("active", "deprecated", "disabled")
"""Only ``active`` models are listed and usable."""

ENDPOINTS: tuple[str, ...] = ("chat", "messages", "responses", "embeddings")
"""The model APIs a model can serve: ``/v1/chat/completions``, ``/v1/messages``,
``/v1/responses`` and ``/v1/embeddings``."""

GENERATIVE: tuple[str, ...] = ("chat", "messages", "responses")
"""What a model serves unless its entry says otherwise (an embedding model: ``embeddings``)."""

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "azure", "bedrock")
"""Upstream wire protocols: any OpenAI-compatible server, Anthropic's Messages API, Google
Gemini's ``generateContent``, Azure OpenAI deployments, AWS Bedrock's Converse API."""

STRATEGIES: tuple[str, ...] = ("ordered", "weighted", "least_inflight", "latency")
"""How a request picks among the upstreams of one tier (see ``quantized.gateway.balance``)."""


@dataclass(frozen=True, slots=True)
class Cost:
    """List prices in USD per million tokens.

    ``input_cache_write`` is what a token written to a prompt cache costs where the
    provider bills writes apart (Anthropic: 1.25x input for 5-minute writes); ``None``
    bills them as ordinary prompt tokens.
    """

    prompt: float
    completion: float
    input_cache_read: float
    input_cache_write: float | None = None

    NAMES: ClassVar[tuple[str, ...]] = (
        "prompt",
        "completion",
        "input_cache_read",
        "input_cache_write",
    )

    def as_numbers(self) -> dict[str, int | float]:
        """The three documented prices (the listing's), as JSON numbers (``1``, ``0.25``)."""
        return {
            "prompt": _number(self.prompt),
            "completion": _number(self.completion),
            "input_cache_read": _number(self.input_cache_read),
        }

    def all_numbers(self) -> dict[str, int | float | None]:
        """Every price, as the catalog format and the admin API give them (unset: ``None``)."""
        write = self.input_cache_write
        return {**self.as_numbers(), "input_cache_write": None if write is None else _number(write)}


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


@dataclass(frozen=True, slots=True)
class ScheduledPrice:
    """A price that takes effect at ``effective_from`` (unix seconds), for every instance at
    once. ``id`` is its row in the price history (``None`` until it is stored)."""

    effective_from: float
    cost: Cost
    id: int | None = None


SCHEDULE_NOTICE = 2.0
"""Seconds: a scheduled price is set, replaced or cancelled at least this long before its
instant, so that every instance knows of it in time (instances read changes within
``QUANTIZED_REFRESH_INTERVAL``, at once with Redis)."""

PINNABLE: tuple[str, ...] = (
    "name",
    "aliases",
    "description",
    "created",
    "status",
    "input_modalities",
    "output_modalities",
    "supported_features",
    "endpoints",
    "context_length",
    "cost",
    "cost.prompt",
    "cost.completion",
    "cost.input_cache_read",
    "cost.input_cache_write",
    "scheduled_prices",
    "price_source",
    "upstreams",
    "routing",
)
"""The fields an operator can pin, so that imports never overwrite them (``cost`` pins
every price)."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where requests for a model go. Never shown on ``/v1/models``."""

    provider: str
    base_url: str
    model: str
    api_key_env: str | None = None
    responses: bool = False
    """Whether the upstream serves OpenAI's Responses API (``POST {base_url}/responses``)
    itself: ``/v1/responses`` requests are then passed through, else translated."""
    name: str | None = None
    """What the ``x-quantized-upstream`` header and the admin API call it (default: the
    provider and a hash of where it is)."""
    weight: int = 1
    """Its share of its tier's requests under the ``weighted`` strategy (0: only when the
    tier's others are unavailable)."""
    tier: int = 0
    """Lower tiers are used first; a request falls to the next tier when every upstream of
    its tier is unavailable (cooling down, at its quota) or failed it."""
    rpm: int = 0
    """The provider account's requests per minute here, across every instance (0: none)."""
    tpm: int = 0
    """The provider account's tokens per minute here, across every instance (0: none)."""
    api_version: str | None = None
    """Azure OpenAI's ``api-version`` query parameter."""
    region: str | None = None
    """AWS Bedrock's region (default: read from the base URL's host)."""
    auth: str | None = None
    """How the gateway authenticates, where a provider offers several: Azure ``api-key``
    (the default) or ``entra`` (an Entra ID bearer token); Bedrock ``sigv4`` (the default,
    AWS credentials from the standard chain) or ``api-key`` (a Bedrock API key)."""


@dataclass(frozen=True, slots=True)
class PriceSource:
    """Where a price was read, and when."""

    url: str
    checked: str
    via: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """One catalog entry. ``aliases`` are other names callers may use for it (see
    :mod:`quantized.catalog.aliases`); the id is the one it is listed and billed under."""

    id: str
    name: str
    cost: Cost
    description: str | None = None
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    supported_features: tuple[str, ...] = ()
    status: str = "active"
    created: int = 0
    context_length: int | None = None
    upstreams: tuple[Upstream, ...] = ()
    price_source: PriceSource | None = None
    aliases: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = GENERATIVE
    """The model APIs (of :data:`ENDPOINTS`) that may be asked for this model."""
    routing: str = "ordered"
    """How requests pick among its upstreams (one of :data:`STRATEGIES`)."""
    scheduled: tuple[ScheduledPrice, ...] = ()
    """Prices that take effect later, earliest first (all after ``cost`` took effect)."""
    pinned: tuple[str, ...] = ()
    """Fields (of :data:`PINNABLE`) imports leave as they are."""
    price_id: int | None = None
    """The price history's row for ``cost`` (``None``: not stored yet)."""
    superseded: ScheduledPrice | None = None
    """After a switch in memory: the price before it, for requests that began before
    ``superseded.effective_from`` (the instant ``cost`` took effect)."""

    def price_at(self, when: float) -> tuple[Cost, int | None]:
        """The price in force at ``when`` (unix seconds) and its history id. One comparison
        unless a switch is near."""
        scheduled = self.scheduled
        if not scheduled or when < scheduled[0].effective_from:
            before = self.superseded
            if before is not None and when < before.effective_from:
                return before.cost, before.id
            return self.cost, self.price_id
        due = scheduled[0]
        for price in scheduled:
            if price.effective_from > when:
                break
            due = price
        return due.cost, due.id

    def at(self, when: float) -> Model:
        """This model with the scheduled prices due at ``when`` in force (itself if none)."""
        scheduled = self.scheduled
        if not scheduled or when < scheduled[0].effective_from:
            return self
        cost, price_id = self.price_at(when)
        due = [p for p in scheduled if p.effective_from <= when]
        last_before = due[-2].cost if len(due) > 1 else self.cost
        last_id = due[-2].id if len(due) > 1 else self.price_id
        return replace(
            self,
            cost=cost,
            price_id=price_id,
            scheduled=tuple(p for p in scheduled if p.effective_from > when),
            superseded=ScheduledPrice(due[-1].effective_from, last_before, last_id),
        )

    @property
    def author(self) -> str:
        """The creator: the part of the id before the slash."""
        return self.id.partition("/")[0]

    @property
    def is_active(self) -> bool:
        return self.status == "active"
