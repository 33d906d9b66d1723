"""Response shapes, as pydantic models: the source of the OpenAPI document's schemas.

The handlers build their JSON directly (the hot ones from pre-rendered bytes);
these classes describe that JSON exactly, and tests check the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from quantized.api.budget_schemas import BudgetStatus
from quantized.catalog.schema import Endpoint


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Out):
    message: str
    type: str
    param: str | None
    code: str | None


class Error(_Out):
    """OpenAI's error shape, used by every error response."""

    error: ErrorDetail


class AnthropicErrorDetail(_Out):
    type: str
    message: str


class AnthropicError(_Out):
    """Anthropic's error shape, used by every error response of the Messages API."""

    type: Literal["error"]
    error: AnthropicErrorDetail


class Modality(_Out):
    text: bool
    image: bool
    audio: bool
    video: bool


class Cost(_Out):
    """USD per million tokens."""

    prompt: float
    completion: float
    input_cache_read: float


class CatalogCost(Cost):
    """USD per million tokens, as the catalog holds them."""

    input_cache_write: float | None = Field(
        description="cache writes, where billed apart; null: at the prompt price"
    )


class PublicModel(_Out):
    """One model as ``GET /v1/models`` documents it."""

    id: str = Field(description="author/slug; use it in the model field of requests")
    name: str
    description: str | None
    model_author: str
    input_modality: Modality
    output_modality: Modality
    status: Literal["active"]
    supported_features: list[str]
    cost: Cost
    endpoints: list[Endpoint] = Field(
        description="The model APIs it serves (chat: /v1/chat/completions, messages: "
        "/v1/messages, responses: /v1/responses, embeddings: /v1/embeddings); "
        "beyond the documented fields"
    )
    context_length: int | None = Field(
        description="Tokens of context the model takes, when known; beyond the documented fields"
    )


class SdkModel(PublicModel):
    """The same model for official OpenAI SDKs, with OpenAI's model-object fields."""

    object: Literal["model"]
    created: int
    owned_by: str


class SdkModelList(_Out):
    """The envelope OpenAI SDKs need (``X-Stainless-Lang`` or ``User-Agent: OpenAI/…``)."""

    object: Literal["list"]
    data: list[SdkModel]


class AnthropicModel(_Out):
    """One model in Anthropic's shape (requests with an ``anthropic-version`` header)."""

    type: Literal["model"]
    id: str
    display_name: str
    created_at: datetime = Field(description="RFC 3339, UTC (1970-01-01T00:00:00Z if unknown)")


class AnthropicModelList(_Out):
    """A page of the listing in Anthropic's shape; ``first_id``/``last_id`` are its cursors."""

    data: list[AnthropicModel]
    has_more: bool = Field(description="More models lie in the direction this page was asked in")
    first_id: str | None
    last_id: str | None


class Health(_Out):
    status: Literal["ok", "starting"]


class Readiness(_Out):
    status: Literal["ready", "unready"]
    catalog: Literal["loaded", "loading"]
    database: Literal["ok", "unreachable"]
    redis: Literal["ok", "unreachable", "not configured"]
    changes: Literal["notified", "polling"]
    models: int
    keys: int


class PriceSourceOut(_Out):
    url: str
    checked: str
    via: str | None
    note: str | None


class UpstreamOut(_Out):
    provider: Literal["openai", "anthropic", "gemini", "azure", "bedrock"]
    base_url: str
    model: str
    api_key_env: str | None
    responses: bool = Field(description="It serves OpenAI's Responses API itself")
    name: str | None = Field(description="Its name in x-quantized-upstream (null: derived)")
    weight: int = Field(description="Its share of its tier under the weighted strategy")
    tier: int = Field(description="Lower tiers are used first")
    rpm: int = Field(description="The provider's requests per minute here (0: none)")
    tpm: int = Field(description="The provider's tokens per minute here (0: none)")
    api_version: str | None = Field(description="Azure OpenAI's api-version")
    region: str | None = Field(description="The AWS region of a Bedrock upstream")
    auth: Literal["api-key", "entra", "sigv4"] | None = Field(
        description="How the gateway authenticates (azure, bedrock)"
    )


class ScheduledPriceOut(CatalogCost):
    effective_from: float = Field(description="When it takes effect (unix seconds)")


class AdminModel(_Out):
    """A stored model in the catalog format (inactive ones too, upstreams included)."""

    id: str
    name: str
    aliases: list[str] = Field(description="Other names requests may use for this model")
    description: str | None
    created: int
    status: Literal["active", "deprecated", "disabled"]
    input_modalities: list[str]
    output_modalities: list[str]
    supported_features: list[str]
    endpoints: list[Endpoint] = Field(description="The model APIs it serves")
    context_length: int | None
    cost: CatalogCost
    price_source: PriceSourceOut | None
    upstreams: list[UpstreamOut]
    routing: Literal["ordered", "weighted", "least_inflight", "latency"] = Field(
        description="How requests pick among the upstreams of a tier"
    )
    scheduled_prices: list[ScheduledPriceOut] = Field(
        description="Upcoming prices, earliest first (GET /v1/models shows only the price in force)"
    )
    pinned: list[str] = Field(description="Fields imports never overwrite")


class AdminModelList(_Out):
    object: Literal["list"]
    data: list[AdminModel]


class DeletedModel(_Out):
    id: str
    object: Literal["model"]
    deleted: Literal[True]


class SkippedEntry(_Out):
    name: str
    reason: str


class ImportResult(_Out):
    object: Literal["catalog.import"]
    format: Literal["quantized", "openrouter", "litellm"]
    inserted: int
    updated: int = Field(description="Stored models the import changed")
    unchanged: int = Field(description="Stored models the document leaves as they are")
    removed: int = Field(
        description="Stored models (of the models selection) the document does not list"
    )
    deprecated: int = Field(description="Of those, how many were deprecated (missing=deprecate)")
    deleted: int = Field(description="Of those, how many were deleted (missing=delete)")
    models: list[str] = Field(description="The document's models the import covered")
    skipped: list[SkippedEntry]
    aliases_skipped: list[SkippedEntry] = Field(
        description="Aliases the source suggested that another model already has"
    )


class ApiKey(_Out):
    """A stored key: never its digest, never its secret."""

    object: Literal["api_key"]
    id: int
    name: str
    prefix: str
    models: list[str] | None = Field(description="ids or globs; null means every model")
    is_admin: bool
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    rpm_limit: int | None = Field(description="requests per minute; null: the default")
    tpm_limit: int | None = Field(description="tokens per minute; null: the default")
    team_id: int | None = Field(description="the team it was issued for; null: none")
    person: str | None = Field(description="the person it was issued to; null: none")


class IssuedApiKey(ApiKey):
    secret: str = Field(description="the key itself, shown only in this response")


class ApiKeyList(_Out):
    object: Literal["list"]
    data: list[ApiKey]


class Team(_Out):
    """A team: the models its members and keys may use (with their own, both must allow)."""

    object: Literal["team"]
    id: int
    name: str
    models: list[str] | None = Field(description="ids or globs; null means every model")
    created_at: float
    updated_at: float
    member_count: int
    key_count: int = Field(description="its keys that are not revoked")


class TeamDetail(Team):
    members: list[str] = Field(description="token subjects or e-mail addresses, sorted")
    key_ids: list[int] = Field(description="its keys that are not revoked")


class TeamList(_Out):
    object: Literal["list"]
    data: list[Team]


class TeamDeleted(_Out):
    id: int
    object: Literal["team"]
    deleted: Literal[True]
    revoked_key_ids: list[int] = Field(description="the keys revoked with it (revoke_keys)")


class TeamMember(_Out):
    object: Literal["team.member"]
    team_id: int
    person: str = Field(description="a token subject or an e-mail address")
    added_at: float


class TeamMemberList(_Out):
    object: Literal["list"]
    data: list[TeamMember]


class TeamMemberDeleted(_Out):
    object: Literal["team.member"]
    team_id: int
    person: str
    deleted: Literal[True]


class Actor(_Out):
    kind: str = Field(description="key, jwt, cli or system")
    id: str
    name: str


class AuditEntry(_Out):
    id: int
    at: float
    actor: Actor
    action: str
    entity: Literal["model", "key", "budget", "team"]
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(_Out):
    object: Literal["list"]
    data: list[AuditEntry]
    has_more: bool


JSON_VALUE = "#/components/schemas/JsonValue"
NO_NUL = r"^[^\x00]*$"
Json = Annotated[Any, WithJsonSchema({"$ref": JSON_VALUE})]
JsonObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "additionalProperties": {"$ref": JSON_VALUE}}),
]
PASSED_ON = ConfigDict(
    extra="allow",
    json_schema_extra={
        "additionalProperties": {"$ref": JSON_VALUE},
        "propertyNames": {"pattern": NO_NUL},
    },
)
Count = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ChatContentPart(BaseModel):
    model_config = PASSED_ON

    type: Annotated[str, Field(pattern=NO_NUL, description="text, image_url, input_audio, …")]


class ChatMessage(BaseModel):
    model_config = PASSED_ON

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Annotated[str, Field(pattern=NO_NUL)] | list[ChatContentPart] | None = None


class ChatRequestBody(BaseModel):
    """OpenAI's chat-completion request; fields not listed are passed to the upstream.

    The pipeline checks what it relies on (``quantized.gateway.surfaces.chat``); this
    describes exactly that. Bodies never hold NUL characters or integers beyond 64 bits.
    """

    model_config = PASSED_ON

    model: Annotated[str, Field(min_length=1, pattern=NO_NUL)] = Field(
        description="A model id from GET /v1/models"
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: JsonObject | None = None
    tools: list[Json] | None = None
    response_format: JsonObject | None = None
    max_tokens: Count | None = None
    max_completion_tokens: Count | None = None
    n: Count | None = None


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion`` (the upstream's own fields are passed on)."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["chat.completion"]
    choices: list[dict[str, Any]]
    usage: dict[str, Any] | None = None


class UsageCaller(_Out):
    kind: str
    id: str


class UsageRow(_Out):
    day: str
    caller: UsageCaller | None = None
    model: str
    requests: int
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    cost_usd: float
    price: ChargedPrice | None = Field(
        default=None, description="With by_price: the price charged (null: before price history)"
    )


class OwnCaller(UsageCaller):
    admin: bool = Field(description="Whether the caller may use the admin API")


class UsageSummary(_Out):
    object: Literal["usage"]
    start: str
    end: str
    caller: UsageCaller | None = None
    data: list[UsageRow]
    total_cost_usd: float


class SpendTeam(_Out):
    id: int
    name: str | None = Field(description="null: the team is no longer there")


class SpendSums(_Out):
    requests: int
    errors: int = Field(description="requests answered with an error (status 400 or more)")
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="exact below 1,000 USD")
    cost_usd_exact: str = Field(description="the exact decimal", pattern=r"^[0-9]+(\.[0-9]+)?$")


class ChargedPrice(_Out):
    """A row of a model's price history (GET /admin/v1/models/{id}/prices), USD per 1M
    tokens; only the id when the row is no longer there."""

    id: int
    effective_from: float | None = None
    prompt: float | None = None
    completion: float | None = None
    input_cache_read: float | None = None
    input_cache_write: float | None = None


class SpendRow(SpendSums):
    """One period and group; only the dimensions grouped by are present (null: none)."""

    period: str | None = Field(
        default=None, description="2026-11-30, 2026-W49 or 2026-11; absent for the total"
    )
    team: SpendTeam | None = None
    person: str | None = None
    caller: UsageCaller | None = None
    model: str | None = None
    upstream: str | None = None
    price: ChargedPrice | None = Field(
        default=None,
        description="The price the requests were charged at (null: before price history)",
    )


class SpendReport(_Out):
    object: Literal["spend_report"]
    start: str
    end: str
    timezone: str = Field(description="the time zone of the days")
    period: Literal["day", "week", "month", "total"]
    group_by: list[Literal["team", "person", "key", "model", "upstream", "price"]]
    data: list[SpendRow]
    total: SpendSums = Field(description="every row's sums, also those past the limit")
    has_more: bool = Field(description="rows were left out (over the limit)")


class OwnBudget(_Out):
    caller: UsageCaller
    daily_usd: float | None
    monthly_usd: float | None
    spent_today_usd: float
    spent_this_month_usd: float


class OwnUsage(UsageSummary):
    """``GET /v1/usage``: the caller's spend, who it is, and its own budget (if any)."""

    caller: OwnCaller
    budget: OwnBudget | None
    budgets: list[BudgetStatus]
    """Every budget that applies to the caller's requests: its own, its person's, its
    team's, for every model or for one."""


class BudgetOut(_Out):
    caller: UsageCaller
    daily_usd: float | None
    monthly_usd: float | None


class BudgetWithSpend(BudgetOut):
    spent_today_usd: float
    spent_this_month_usd: float


class BudgetList(_Out):
    object: Literal["list"]
    data: list[BudgetWithSpend]


class BudgetDeleted(_Out):
    caller: UsageCaller
    deleted: Literal[True]


class MessageBlock(BaseModel):
    model_config = PASSED_ON

    type: Annotated[str, Field(pattern=NO_NUL, description="text, image, tool_use, …")]


class MessageIn(BaseModel):
    model_config = PASSED_ON

    role: Literal["user", "assistant", "system"]
    content: Annotated[str, Field(pattern=NO_NUL)] | list[MessageBlock]


class SystemBlock(BaseModel):
    model_config = PASSED_ON

    type: Literal["text"]
    text: Annotated[str, Field(pattern=NO_NUL)]


class ToolIn(BaseModel):
    model_config = PASSED_ON

    name: Annotated[str, Field(pattern=NO_NUL)]


class MessagesRequestBody(BaseModel):
    """Anthropic's Messages request; fields not listed are passed to an Anthropic upstream.

    The pipeline checks what it relies on (``quantized.gateway.messages.request``);
    this describes exactly that.
    """

    model_config = PASSED_ON

    model: Annotated[str, Field(min_length=1, pattern=NO_NUL)] = Field(
        description="A model id from GET /v1/models, or one of its aliases"
    )
    max_tokens: Count
    messages: list[MessageIn] = Field(min_length=1)
    system: Annotated[str, Field(pattern=NO_NUL)] | list[SystemBlock] | None = None
    stream: bool | None = False
    tools: list[ToolIn] | None = None
    tool_choice: JsonObject | None = None
    thinking: JsonObject | None = None
    metadata: JsonObject | None = None
    output_config: JsonObject | None = None
    stop_sequences: list[Json] | None = None


class CountTokensBody(MessagesRequestBody):
    """A Messages request to count: ``max_tokens`` and ``stream`` are not needed."""

    max_tokens: Count | None = None  # type: ignore[assignment]


class Message(BaseModel):
    """Anthropic's ``message`` (an Anthropic upstream's own fields are passed on)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[dict[str, Any]]
    model: str
    stop_reason: str | None
    usage: dict[str, Any]


class TokenCount(BaseModel):
    model_config = ConfigDict(extra="allow")

    input_tokens: int
