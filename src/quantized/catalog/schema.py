"""The schema of a catalog entry, shared by the file format and the admin API.

Validation is strict: prices must be numbers (not strings), lists must be lists
(each value at most once), unknown fields are rejected, text has no NUL (nor, in
one-line fields, any control character). ``created`` is unix seconds or an RFC
3339 date or date-time; a price source's ``checked`` is a date (``2026-07-24``,
or a YAML date), never a number. The JSON schema pydantic derives from these
models is the OpenAPI document's, so it says exactly this.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.config import JsonDict, JsonValue

from quantized.catalog.aliases import ALIAS_PATTERN, MAX_ALIAS_LENGTH, MAX_ALIASES
from quantized.catalog.model import PINNABLE, Cost, Model, PriceSource, ScheduledPrice, Upstream
from quantized.errors import CatalogFormatError
from quantized.validation import INTEGRAL, describe, first_problem
from quantized.values import EARLIEST, LATEST, LINE, rfc3339_seconds

AUTHOR_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._:-]*$"
MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._:-]*$"

Modality = Literal["text", "image", "audio", "video"]
Feature = Literal["tool_calls", "structured_output", "reasoning", "prompt_caching", "web_search"]
Price = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False, strict=True)]
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE)]


def _no_repeats(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("lists each value at most once")
    return values


_UNIQUE = Field(json_schema_extra={"uniqueItems": True})
Modalities = Annotated[list[Modality], AfterValidator(_no_repeats), _UNIQUE]
Endpoint = Literal["chat", "messages", "responses", "embeddings"]
Endpoints = Annotated[
    list[Endpoint],
    AfterValidator(_no_repeats),
    Field(
        min_length=1,
        description="The model APIs this model serves (default: chat, messages, responses; "
        "an embedding model: [embeddings])",
        json_schema_extra={"uniqueItems": True},
    ),
]
Features = Annotated[list[Feature], AfterValidator(_no_repeats), _UNIQUE]
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: object) -> object:
    """A date: a ``date`` (YAML) or ``YYYY-MM-DD`` (JSON), never a number or a datetime."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise ValueError("use a date such as 2026-07-24")
    if isinstance(value, str):
        if not _DAY.fullmatch(value):
            raise ValueError("use a date such as 2026-07-24")
        return dt.date.fromisoformat(value)
    return value


def _unix_seconds(value: object) -> object:
    """Unix seconds, a date or datetime (YAML), or an RFC 3339 date or date-time, as seconds."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(rfc3339_seconds(value))
    if isinstance(value, dt.date):
        return _unix(value)
    raise ValueError("use unix seconds, a date (2025-04-14) or an RFC 3339 date-time")


def _instant(latest: int, description: str) -> WithJsonSchema:
    """The JSON schema of unix seconds given as such or as an RFC 3339 date or date-time."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": EARLIEST, "maximum": latest},
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": description,
        }
    )


Created = Annotated[
    int,
    Field(ge=EARLIEST, le=LATEST),
    BeforeValidator(_unix_seconds),
    _instant(LATEST, "Unix seconds, or an RFC 3339 date or date-time (default: now)"),
]
Checked = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "description": "When it was read"}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CostEntry(_Strict):
    prompt: Price
    completion: Price
    input_cache_read: Price | None = None
    input_cache_write: Price | None = None

    def to_cost(self) -> Cost:
        read = self.input_cache_read
        return Cost(
            prompt=self.prompt,
            completion=self.completion,
            input_cache_read=self.prompt if read is None else read,
            input_cache_write=self.input_cache_write,
        )


LAST_SECOND = 253_402_300_799
"""9999-12-31T23:59:59Z: the last instant a date-time can name."""
EffectiveFrom = Annotated[
    int,
    Field(ge=EARLIEST, le=LAST_SECOND),
    BeforeValidator(_unix_seconds),
    _instant(
        LAST_SECOND,
        "When the price takes effect: unix seconds, or an RFC 3339 date (midnight UTC) or "
        "date-time",
    ),
]


class ScheduledPriceEntry(CostEntry):
    """A price that takes effect at ``effective_from``; until then ``cost`` applies."""

    effective_from: EffectiveFrom


def _one_per_instant(prices: list[ScheduledPriceEntry]) -> list[ScheduledPriceEntry]:
    """One price per instant: of several given for the same instant, the last."""
    return list({p.effective_from: p for p in prices}.values())


ScheduledPrices = Annotated[
    list[ScheduledPriceEntry],
    AfterValidator(_one_per_instant),
    Field(
        max_length=100,
        description="Prices that take effect later, each at its effective_from (one whose "
        "time has passed when the entry is read is the price in force; of several for one "
        "instant, the last)",
    ),
]
Pinnable = Literal[
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
]
Pinned = Annotated[
    list[Pinnable],
    AfterValidator(_no_repeats),
    Field(
        description="Fields imports never overwrite (set by hand); cost pins every price",
        json_schema_extra={"uniqueItems": True},
    ),
]


_PROVIDER_FIELDS: list[JsonValue] = [
    {
        "anyOf": [
            {"properties": {"provider": {"const": "openai"}}},
            {"not": {"required": ["responses"]}},
            {"properties": {"responses": {"const": False}}},
        ]
    },
    {
        "anyOf": [
            {"properties": {"provider": {"const": "azure"}}},
            {"not": {"required": ["api_version"]}},
        ]
    },
    {
        "anyOf": [
            {"not": {"properties": {"provider": {"const": "azure"}}}},
            {"properties": {"api_version": {"type": "string"}}, "required": ["api_version"]},
            {"properties": {"base_url": {"pattern": "/openai/v1/*$"}}},
        ]
    },
    {
        "anyOf": [
            {"properties": {"provider": {"const": "bedrock"}}},
            {"not": {"required": ["region"]}},
        ]
    },
    {
        "anyOf": [
            {"not": {"required": ["auth"]}},
            {
                "properties": {
                    "provider": {"const": "azure"},
                    "auth": {"enum": ["api-key", "entra"]},
                }
            },
            {
                "properties": {
                    "provider": {"const": "bedrock"},
                    "auth": {"enum": ["sigv4", "api-key"]},
                }
            },
        ]
    },
]
"""What ``UpstreamEntry._provider_fields`` checks, in the JSON schema."""

_AUTH = {"azure": ("api-key", "entra"), "bedrock": ("sigv4", "api-key")}
Count = Annotated[int, Field(ge=0, le=2**31 - 1), INTEGRAL]


class UpstreamEntry(_Strict):
    model_config = ConfigDict(json_schema_extra={"allOf": list(_PROVIDER_FIELDS)})

    provider: Literal["openai", "anthropic", "gemini", "azure", "bedrock"]
    base_url: Annotated[
        str, Field(pattern=r"^https?://[^ \t\n\r\f\v/\x00]+[^\x00]*$", max_length=2048)
    ]
    model: Annotated[str, Field(min_length=1, max_length=256, pattern=NO_NUL)]
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    responses: bool = Field(
        default=False,
        description="The upstream serves OpenAI's Responses API itself (POST {base_url}/"
        "responses): /v1/responses requests are passed through rather than translated",
    )
    name: (
        Annotated[
            str,
            Field(
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                max_length=100,
                description="What the x-quantized-upstream header and the admin API call it "
                "(default: the provider and a hash of where it is)",
            ),
        ]
        | None
    ) = None
    weight: Annotated[
        int,
        Field(
            ge=0,
            le=1_000_000,
            description="Its share of its tier's requests under the weighted strategy (0: "
            "only when the tier's others are unavailable)",
        ),
        INTEGRAL,
    ] = 1
    tier: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Lower tiers are used first; a request falls to the next tier when "
            "every upstream of its tier is unavailable or failed it",
        ),
        INTEGRAL,
    ] = 0
    rpm: Count = Field(
        default=0, description="The provider account's requests per minute (0: no limit)"
    )
    tpm: Count = Field(
        default=0, description="The provider account's tokens per minute (0: no limit)"
    )
    api_version: (
        Annotated[
            str,
            Field(
                pattern=r"^[A-Za-z0-9._-]+$",
                max_length=64,
                description="Azure OpenAI's api-version (azure only; required unless the "
                "base_url ends in /openai/v1)",
            ),
        ]
        | None
    ) = Field(default=None, validate_default=True)
    region: (
        Annotated[
            str,
            Field(
                pattern=r"^[a-z0-9-]+$",
                max_length=64,
                description="The AWS region (bedrock only; default: read from the base URL)",
            ),
        ]
        | None
    ) = None
    auth: Literal["api-key", "entra", "sigv4"] | None = Field(
        default=None,
        description="azure: api-key (default) or entra (an Entra ID bearer token); "
        "bedrock: sigv4 (default, the standard AWS credential chain) or api-key",
    )

    @field_validator("responses", "api_version", "region", "auth")
    @classmethod
    def _provider_fields(cls, value: Any, info: ValidationInfo) -> Any:
        provider, field = info.data.get("provider"), info.field_name
        base_url = info.data.get("base_url")
        if field == "api_version" and provider == "azure" and not value and base_url:
            if not base_url.rstrip("/").endswith("/openai/v1"):
                raise ValueError(
                    "api_version is required for an azure deployment (such as 2024-10-21): "
                    "Azure OpenAI refuses a request without it (only a base_url ending in "
                    "/openai/v1, Azure's v1 API, takes none)"
                )
        if not value:
            return value
        if field == "responses" and provider != "openai":
            raise ValueError("only an OpenAI-compatible upstream serves the Responses API")
        if field == "api_version" and provider != "azure":
            raise ValueError("api_version is for azure upstreams only")
        if field == "region" and provider != "bedrock":
            raise ValueError("region is for bedrock upstreams only")
        if field == "auth" and value not in _AUTH.get(str(provider), ()):
            choices = " or ".join(_AUTH.get(str(provider), ()))
            raise ValueError(
                f"auth '{value}' is not one of {provider}'s ({choices})"
                if choices
                else f"a {provider} upstream takes no auth field"
            )
        return value


class PriceSourceEntry(_Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048, pattern=NO_NUL)]
    checked: Checked
    via: Annotated[str, Field(max_length=1000, pattern=NO_NUL)] | None = None
    note: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] | None = None


def _generative() -> list[Endpoint]:
    return ["chat", "messages", "responses"]


def _text_only() -> list[Modality]:
    return ["text"]


ContextLength = Annotated[int, Field(gt=0, le=2**53), INTEGRAL]
MAX_ID_LENGTH = 200
ModelId = Annotated[str, Field(pattern=MODEL_ID_PATTERN, max_length=MAX_ID_LENGTH)]
Author = Annotated[str, Field(pattern=AUTHOR_PATTERN, max_length=200, description="author")]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=200, description="The id's slug")]
Alias = Annotated[str, Field(pattern=ALIAS_PATTERN, max_length=MAX_ALIAS_LENGTH)]
SlugAlias = Annotated[
    str, Field(pattern=SLUG_PATTERN, max_length=MAX_ALIAS_LENGTH, description="A model alias")
]
Aliases = Annotated[
    list[Alias],
    AfterValidator(_no_repeats),
    Field(
        max_length=MAX_ALIASES,
        description="Other names requests may use for this model (a provider's own, such "
        "as claude-sonnet-4-6): unique in the catalog, never listed as models",
        json_schema_extra={"uniqueItems": True},
    ),
]


def _not_own_id(aliases: list[str], info: ValidationInfo) -> list[str]:
    if info.data.get("id") in aliases:
        raise ValueError("a model's own id is not an alias")
    return aliases


_EMBEDDINGS_UPSTREAMS: JsonDict = {
    "if": {
        "properties": {"endpoints": {"contains": {"const": "embeddings"}}},
        "required": ["endpoints"],
    },
    "then": {
        "properties": {
            "upstreams": {"items": {"properties": {"provider": {"enum": ["openai", "azure"]}}}}
        }
    },
}
"""The rule of ``CatalogEntry._embeddings_upstreams``, in the JSON schema."""
_EMBEDDERS = ("openai", "azure")


class CatalogEntry(_Strict):
    model_config = ConfigDict(json_schema_extra=_EMBEDDINGS_UPSTREAMS)

    id: ModelId
    name: Line
    aliases: Aliases = Field(default_factory=list)
    description: Text | None = None
    created: Created | None = None
    status: Literal["active", "deprecated", "disabled"] = "active"
    input_modalities: Modalities = Field(default_factory=_text_only)
    output_modalities: Modalities = Field(default_factory=_text_only)
    supported_features: Features = Field(default_factory=list)
    context_length: ContextLength | None = None
    cost: CostEntry
    price_source: PriceSourceEntry | None = None
    upstreams: list[UpstreamEntry] = Field(default_factory=list)
    endpoints: Endpoints = Field(default_factory=_generative)
    routing: Literal["ordered", "weighted", "least_inflight", "latency"] = Field(
        default="ordered",
        description="How a request picks among the upstreams of a tier: ordered (catalog "
        "order, the next on failure), weighted (random by weight), least_inflight, or "
        "latency (the lowest recent time to first token)",
    )
    scheduled_prices: ScheduledPrices = Field(default_factory=list)
    pinned: Pinned = Field(default_factory=list)

    _aliases = field_validator("aliases")(_not_own_id)

    @field_validator("endpoints")
    @classmethod
    def _embeddings_upstreams(cls, endpoints: list[str], info: ValidationInfo) -> list[str]:
        """Anthropic serves no embeddings API: an embedding model's upstreams are all
        OpenAI-compatible (or Azure OpenAI deployments), so no request for it can meet an
        upstream that cannot serve it."""
        upstreams: list[UpstreamEntry] = info.data.get("upstreams") or []
        if "embeddings" in endpoints and any(u.provider not in _EMBEDDERS for u in upstreams):
            raise ValueError(
                "a model that serves embeddings needs OpenAI-compatible or Azure OpenAI "
                "upstreams only (provider: openai or azure): Anthropic has no embeddings API"
            )
        return endpoints

    def to_model(self, now: int) -> Model:
        """The model this entry describes at ``now``: a scheduled price whose time has come
        is the price in force."""
        schedule = sorted(self.scheduled_prices, key=lambda p: p.effective_from)
        cost = self.cost.to_cost()
        for due in (p for p in schedule if p.effective_from <= now):
            cost = due.to_cost()
        return Model(
            id=self.id,
            name=self.name,
            description=self.description,
            created=now if self.created is None else self.created,
            status=self.status,
            input_modalities=tuple(self.input_modalities),
            output_modalities=tuple(self.output_modalities),
            supported_features=tuple(self.supported_features),
            context_length=self.context_length,
            cost=cost,
            price_source=(
                PriceSource(**self.price_source.model_dump(mode="json"))
                if self.price_source
                else None
            ),
            upstreams=tuple(Upstream(**u.model_dump()) for u in self.upstreams),
            aliases=tuple(self.aliases),
            endpoints=tuple(self.endpoints),
            routing=self.routing,
            scheduled=tuple(
                ScheduledPrice(p.effective_from, p.to_cost())
                for p in schedule
                if p.effective_from > now
            ),
            pinned=tuple(p for p in PINNABLE if p in self.pinned),
        )


def _unix(created: dt.date) -> int:
    if isinstance(created, dt.datetime):
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        return int(created.timestamp())
    return int(dt.datetime(created.year, created.month, created.day, tzinfo=dt.UTC).timestamp())


def entry_error(exc: ValidationError, prefix: str = "") -> CatalogFormatError:
    """The first validation problem as a domain error whose ``param`` names the field."""
    where, _ = first_problem(exc)
    return CatalogFormatError(describe(exc, prefix), param=where or None)


def parse_entry(data: Any, *, now: int) -> Model:
    """One catalog entry (a JSON object) as a model."""
    try:
        return CatalogEntry.model_validate(data).to_model(now)
    except ValidationError as exc:
        raise entry_error(exc) from None
