"""The one settings class.

Every knob is read here, from environment variables prefixed ``QUANTIZED_`` and
from an optional ``.env`` file in the working directory. Nothing else in the
package reads the environment directly, with one documented exception: the
chat proxy reads upstream provider keys from the variables the catalog names.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from quantized.auth.jwt.config import ClaimRules, IssuerConfig, IssuersFile
from quantized.errors import ConfigurationError
from quantized.validation import describe, first_problem

DEFAULT_DATABASE_URL = "sqlite:///quantized.db"
_ORIGIN_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
"""A host[:port] that can go into a Content-Security-Policy as it is."""


class Settings(BaseSettings):
    """Configuration of a Quantized process (server or CLI)."""

    model_config = SettingsConfigDict(
        env_prefix="QUANTIZED_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file.db or postgresql://user:pass@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `quantized serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `quantized serve` binds to.")
    workers: int = Field(default=1, ge=1, le=256, description="Worker processes.")
    catalog_file: Path | None = Field(
        default=None,
        description="Catalog loaded into an empty database; the shipped one when unset.",
    )
    refresh_interval: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Seconds between checks for key and catalog changes made elsewhere.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = Field(default=False, description="Log every request (costs throughput).")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_body_buffer_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        description="Bytes of request bodies held in memory at once by the process; requests "
        "wait for room (503 server_busy after 10 s). At least max_body_bytes.",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a connection may take to send a request's headers (then closed).",
    )
    keepalive_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds an idle keep-alive connection is kept."
    )
    max_connections: int = Field(
        default=0,
        ge=0,
        description="Open client connections; more are answered 503 and closed. 0: from the "
        "process's file descriptor limit (its soft limit, raised to the hard one, minus room "
        "for the database, Redis and upstreams).",
    )
    fast_path: bool = Field(
        default=True,
        description="Connections start on the models routes' own protocol (off: every "
        "request through the full protocol and ASGI, slower, same answers).",
    )
    database_connect_timeout: float = Field(
        default=5.0, gt=0, le=300, description="Seconds to connect to PostgreSQL."
    )
    database_statement_timeout: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds a PostgreSQL statement may take."
    )
    key_lookups_per_second: float = Field(
        default=20.0,
        ge=0,
        le=10_000,
        description="Store lookups of keys this server does not know yet (created elsewhere "
        "a moment ago); unknown keys past this rate are refused without one. 0: none.",
    )
    listing_max_age: int = Field(
        default=0, ge=0, le=86400, description="Cache-Control max-age of model listings, seconds."
    )
    upstream_connect_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds to connect to an upstream provider."
    )
    upstream_timeout: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Seconds to wait for an upstream's answer, or between two streamed chunks.",
    )

    # Routing (quantized.gateway.router, .health, .quotas): retries, deadlines, breakers.
    request_deadline: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="Seconds a request may take to its first answer (retries and fallbacks "
        "included); a caller's x-quantized-deadline header may ask for less.",
    )
    upstream_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Further attempts on the same upstream when it was not reached, or "
        "answered 429/503 with a short Retry-After.",
    )
    upstream_retry_backoff: float = Field(
        default=0.1, ge=0, le=60, description="Seconds before the first retry (then doubled)."
    )
    upstream_max_retry_after: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="The longest Retry-After waited for on the same upstream.",
    )
    upstream_quota_wait: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="Seconds a request waits for room when every upstream is at its quota.",
    )
    breaker_failures: int = Field(
        default=5, ge=1, le=10000, description="Failures within the window that open a breaker."
    )
    breaker_window: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds over which failures are counted."
    )
    breaker_cooldown: float = Field(
        default=30.0, gt=0, le=86400, description="Seconds an open breaker stays open."
    )
    breaker_probe_timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds after which a half-open breaker's unfinished probe frees its place.",
    )
    health_sync_interval: float = Field(
        default=0.25,
        gt=0,
        le=10,
        description="Seconds between reads of the breakers every instance shares (Redis).",
    )

    # The upstream client. The proxy variables are also read without the prefix, as
    # curl reads them (QUANTIZED_HTTPS_PROXY first, then HTTPS_PROXY / https_proxy:
    # names are case-insensitive here, so those two are one variable; set only one).
    # Proxy URLs are http://[user:password@]host[:port]; NO_PROXY lists names (with
    # their subdomains), IP addresses, CIDR ranges, `*`, each optionally `:port`;
    # localhost is proxied unless listed. Details: quantized.gateway.client.proxy.
    upstream_max_connections: int = Field(
        default=256,
        ge=1,
        le=65536,
        description="Connections per upstream origin, busy or idle; more requests wait for one.",
    )
    max_upstream_response_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest upstream answer read whole (502 above); streams are not capped.",
    )
    https_proxy: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QUANTIZED_HTTPS_PROXY", "HTTPS_PROXY", "https_proxy"),
        description="Proxy for https:// upstreams (CONNECT tunnel, TLS to the upstream inside).",
    )
    http_proxy: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QUANTIZED_HTTP_PROXY", "HTTP_PROXY", "http_proxy"),
        description="Proxy for http:// upstreams (absolute-form requests).",
    )
    no_proxy: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QUANTIZED_NO_PROXY", "NO_PROXY", "no_proxy"),
        description="Comma-separated upstream hosts reached directly, never through a proxy.",
    )
    upstream_ca_file: Path | None = Field(
        default=None,
        description="PEM file of CAs trusted for upstream TLS, besides the system's.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0, rediss://… (TLS) or unix:///path/redis.sock?db=0 "
        "to share limits, spend and changes.",
    )
    redis_prefix: str = Field(
        default="quantized", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Redis key prefix."
    )
    redis_timeout: float = Field(default=0.25, gt=0, le=10, description="Seconds per Redis call.")
    redis_fail_closed: bool = Field(
        default=False, description="Refuse rate-limited requests while Redis is unreachable."
    )
    default_rpm: int = Field(default=0, ge=0, description="Requests per minute; 0: no limit.")
    default_tpm: int = Field(default=0, ge=0, description="Tokens per minute; 0: no limit.")
    usage_buffer: int = Field(
        default=1_000_000, ge=1000, description="Usage records kept while the database is away."
    )
    usage_flush_interval: float = Field(
        default=0.05, gt=0, le=10, description="Seconds a usage record waits, at most, to be sent."
    )
    usage_flush_rows: int = Field(
        default=100, ge=1, description="Waiting usage records that start a write at once."
    )
    usage_batch_rows: int = Field(
        default=5000, ge=1, description="Most usage records in one write (backlogs use it)."
    )
    usage_writes: int = Field(
        default=4, ge=1, le=64, description="Usage batches written at once, one connection each."
    )
    usage_retention_days: int = Field(
        default=0,
        ge=0,
        le=36500,
        description="Days raw usage rows are kept (then deleted in small batches; the daily "
        "aggregates reports read are kept). 0: kept forever.",
    )
    usage_retention_batch: int = Field(
        default=5000, ge=100, le=1_000_000, description="Rows deleted per statement by retention."
    )

    # Budgets: the organisation's time zone, what a request reserves, and alerts.
    timezone: str = Field(
        default="UTC",
        description="IANA time zone of days, weeks (from Monday) and months: budgets' windows, "
        "the ledger's day and reports.",
    )
    budget_prompt_bytes_per_token: float = Field(
        default=3.0,
        gt=0,
        le=100,
        description="A request's prompt tokens are reserved as its body's bytes divided by "
        "this (an overestimate for prose and code, whose tokens average about 4 bytes).",
    )
    budget_unbounded_output: Literal["context", "default", "refuse"] = Field(
        default="context",
        description="A request without a max_tokens under a hard budget reserves the model's "
        "context length (context; the default when the catalog has none), "
        "budget_default_output_tokens (default), or is refused with 400 (refuse).",
    )
    budget_default_output_tokens: int = Field(
        default=4096, ge=1, le=10_000_000, description="See budget_unbounded_output."
    )
    budget_reservation_ttl: float = Field(
        default=900.0,
        ge=10,
        le=86400,
        description="Seconds a reservation is held for a request whose instance died before "
        "settling it (shared reservations in Redis).",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where budget alerts are POSTed (JSON, signed when a secret is set).",
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-Quantized-Signature header."
    )
    alert_webhook_attempts: int = Field(
        default=8, ge=1, le=50, description="Deliveries tried per alert, with growing pauses."
    )
    alert_webhook_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds one delivery may take."
    )
    responses_retention_days: float = Field(
        default=30.0,
        ge=0,
        le=36500,
        description="Days a Responses API response made with store: true (OpenAI's default) is "
        "kept for GET /v1/responses/{id} and previous_response_id; then it is deleted. 0: "
        "responses are not stored (ones stored before stay until they expire).",
    )

    # Observability: metrics, traces, logs.
    metrics: bool = Field(default=True, description="Count requests and serve GET /metrics.")
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without credentials (for scrapers that cannot send a "
        "bearer token); otherwise it needs an admin key or token.",
    )
    metrics_caller_labels: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Label model requests, tokens and cost with the caller (key id or JWT "
        "subject) for the first N callers seen, 'other' after; 0: no caller label.",
    )
    metrics_multiprocess_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
        description="Where workers keep their metrics (prometheus-client's multiprocess "
        "mode); `quantized serve --workers N` sets it to a fresh directory itself.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="Export traces over OTLP/HTTP to this base URL (+ /v1/traces); the "
        "OpenTelemetry SDK reads the other OTEL_* variables itself. Unset (and no traces "
        "endpoint): no tracing, and the SDK is not loaded.",
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        description="Export traces over OTLP/HTTP to exactly this URL.",
    )
    otel_sdk_disabled: bool = Field(
        default=False,
        validation_alias=AliasChoices("OTEL_SDK_DISABLED"),
        description="OpenTelemetry's switch: true turns tracing off even with an endpoint.",
    )
    trace_content: bool = Field(
        default=False,
        description="Record request and answer bodies (prompts and completions) on spans.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text, or json: one JSON object per line."
    )

    # The web console.
    console_oidc_client_id: str | None = Field(
        default=None,
        description="OpenID Connect client id of the web console (a public client, "
        "authorization code with PKCE) at QUANTIZED_JWT_ISSUER; unset: API key sign-in only.",
    )
    console_oidc_scope: str = Field(
        default="openid profile email", description="Scopes the console asks for."
    )
    console_oidc_more_origins: str = Field(
        default="",
        description="Comma-separated origins besides the issuer's that the console's sign-in "
        "calls (an identity provider whose token endpoint is elsewhere).",
    )

    # JWT bearer tokens: one issuer from these variables, more from jwt_issuers_file.
    jwt_issuer: str | None = Field(default=None, description="Expected `iss` of tokens.")
    jwt_audience: str | None = Field(default=None, description="Expected `aud` of tokens.")
    jwt_jwks_url: str | None = Field(default=None, description="Where the signing keys are.")
    jwt_public_key_file: Path | None = Field(default=None, description="PEM, JWK or JWKS file.")
    jwt_secret: SecretStr | None = Field(default=None, description="HMAC secret (HS256/384/512).")
    jwt_algorithms: Annotated[list[str], NoDecode] | None = Field(
        default=None, description="Comma-separated allowed algorithms (default: by key type)."
    )
    jwt_issuers_file: Path | None = Field(default=None, description="YAML/JSON list of issuers.")
    jwt_leeway: float = Field(default=30.0, ge=0, le=3600, description="Clock skew, seconds.")
    jwt_subject_claim: str = "sub"
    jwt_models_claim: str = "models"
    jwt_admin_claim: str = "roles"
    jwt_admin_value: str = "quantized-admin"
    jwt_default_models: Literal["all", "none"] = "all"
    jwt_team_claim: str = Field(
        default="", description="Claim naming the caller's team (by name); empty: membership."
    )
    jwt_jwks_ttl: float = Field(default=300.0, ge=1, description="Seconds keys stay fresh.")
    jwt_jwks_refetch_interval: float = Field(
        default=5.0, ge=0.1, description="Least seconds between fetches for unknown key ids."
    )
    jwt_cache_size: int = Field(default=10_000, ge=0, description="Verified tokens kept.")

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def console_oidc_origins(self) -> tuple[str, ...]:
        """Origins the console's pages may talk to besides the gateway (the identity
        provider's, for OpenID Connect sign-in)."""
        if not self.console_oidc_client_id or not self.jwt_issuer:
            return ()
        found = []
        for url in (self.jwt_issuer, *self.console_oidc_more_origins.split(",")):
            parts = urlsplit(url.strip())
            if parts.scheme in ("http", "https") and _ORIGIN_HOST.fullmatch(parts.netloc):
                found.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(dict.fromkeys(found))

    def otel_traces_endpoint(self) -> str | None:
        """Where spans go, as OpenTelemetry's variables say (the traces one wins)."""
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        if self.otel_exporter_otlp_endpoint:
            return self.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return None

    def upstream_secret(self, name: str) -> str | None:
        """The provider key held by the environment variable ``name`` (the catalog names it).

        The one read of the environment outside the ``QUANTIZED_`` prefix: provider keys
        live in the environment (or the ``.env`` file), never in the database.
        """
        return os.environ.get(name) or self._dotenv.get(name) or None

    @cached_property
    def _dotenv(self) -> dict[str, str]:
        from dotenv import dotenv_values

        path = Path(".env")
        if not path.is_file():
            return {}
        return {k: v for k, v in dotenv_values(path).items() if v is not None}

    def jwt_claim_rules(self) -> ClaimRules:
        return ClaimRules(
            subject_claim=self.jwt_subject_claim,
            models_claim=self.jwt_models_claim,
            admin_claim=self.jwt_admin_claim,
            admin_value=self.jwt_admin_value,
            default_models=self.jwt_default_models,
            team_claim=self.jwt_team_claim,
        )

    def jwt_issuers(self) -> list[IssuerConfig]:
        """Every trusted issuer: the one from QUANTIZED_JWT_* and those in the issuers file."""
        issuers: list[IssuerConfig] = []
        single = (self.jwt_issuer, self.jwt_jwks_url, self.jwt_public_key_file, self.jwt_secret)
        if any(value is not None for value in single):
            try:
                issuers.append(
                    IssuerConfig(
                        issuer=self.jwt_issuer,
                        audience=self.jwt_audience,
                        jwks_url=self.jwt_jwks_url,
                        public_key_file=self.jwt_public_key_file,
                        secret=self.jwt_secret,
                        algorithms=self.jwt_algorithms,
                        leeway=self.jwt_leeway,
                    )
                )
            except ValidationError as exc:
                raise ConfigurationError(
                    f"invalid QUANTIZED_JWT_* settings: {describe(exc)}"
                ) from None
        if self.jwt_issuers_file is not None:
            issuers.extend(_read_issuers(self.jwt_issuers_file, self.jwt_leeway))
        if len(issuers) > 1 and any(i.issuer is None for i in issuers):
            raise ConfigurationError("with several JWT issuers, each needs its `issuer`")
        return issuers

    @model_validator(mode="after")
    def _buffer_holds_a_body(self) -> Settings:
        if self.max_body_buffer_bytes < self.max_body_bytes:
            raise ValueError("max_body_buffer_bytes must be at least max_body_bytes")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone (``timezone``)."""
        return zone(self.timezone)

    @field_validator("redis_url")
    @classmethod
    def _redis_address(cls, value: str | None) -> str | None:
        from quantized.coordination.address import check_redis_url

        if value is not None and value.strip():
            check_redis_url(value)  # ValueError: one line naming the setting
            return value.strip()
        return None

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        from quantized.store.database import async_url

        try:
            async_url(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return value


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name, or a ``ValueError`` that says what is wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name[:64]!r}: use an IANA name such as 'UTC' or 'Europe/Paris'"
        ) from None


def _read_issuers(path: Path, leeway: float) -> list[IssuerConfig]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read JWT issuers file {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ConfigurationError(f"JWT issuers file {path} is not valid YAML or JSON") from None
    if isinstance(data, dict):
        for entry in data.get("issuers") or []:
            if isinstance(entry, dict):
                entry.setdefault("leeway", leeway)
    try:
        return IssuersFile.model_validate(data).issuers
    except ValidationError as exc:
        raise ConfigurationError(f"invalid JWT issuers file {path}: {describe(exc)}") from None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        where, message = first_problem(exc)
        field = where.split(".")[0].split("[")[0] if where else ""
        named = f"setting QUANTIZED_{field.upper()}" if field else "settings"
        raise ConfigurationError(f"invalid {named}: {message}") from None


def export_environment(name: str, value: str | None) -> None:
    """Set (or, with ``None``, remove) a variable for a library that reads the environment
    itself and for the processes this one starts (prometheus-client's
    ``PROMETHEUS_MULTIPROC_DIR``): the one place besides this class that touches it."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
