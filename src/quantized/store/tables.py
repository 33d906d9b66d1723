"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

models = Table(
    "models",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(16), nullable=False, default="active"),
    Column("input_modalities", JSON, nullable=False),
    Column("output_modalities", JSON, nullable=False),
    Column("supported_features", JSON, nullable=False),
    Column("cost_prompt", Double, nullable=False),
    Column("cost_completion", Double, nullable=False),
    Column("cost_input_cache_read", Double, nullable=False),
    Column("cost_input_cache_write", Double, nullable=True),
    Column("context_length", BigInteger, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("upstreams", JSON, nullable=False),
    Column("price_source", JSON, nullable=True),
    Column("updated_at", Double, nullable=False),
    Column("aliases", JSON, nullable=False, default=list),
    Column(
        "endpoints",
        JSON,
        nullable=False,
        server_default='["chat", "messages", "responses"]',
    ),
    Column("routing", String(32), nullable=False, server_default="ordered"),
    Column("pinned", JSON, nullable=False, default=list),
)
"""The catalog. ``cost_*`` hold the price in force when the row was written; the price
history (``model_prices``) says which price applies when."""

model_prices = Table(
    "model_prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),
    Column("effective_from", Double, nullable=False),
    Column("prompt", Double, nullable=False),
    Column("completion", Double, nullable=False),
    Column("input_cache_read", Double, nullable=False),
    Column("input_cache_write", Double, nullable=True),
    Column("set_at", Double, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("cancelled_at", Double, nullable=True),
    Index("ix_model_prices_model_effective_from", "model", "effective_from"),
    sqlite_autoincrement=True,
)
"""Every price each model has had or is scheduled to have: the one in force at an instant
is the latest to take effect by then. Rows are never deleted, and changed only to mark a
scheduled price cancelled before its instant (``cancelled_at``). Ledger rows name the
row they were charged at (``usage.price_id``)."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("models", JSON, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
    Column("rpm_limit", Integer, nullable=True),
    Column("tpm_limit", Integer, nullable=True),
    Column("team_id", Integer, nullable=True),
    Column("person", String(200), nullable=True),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(16), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("at", Double, nullable=False, index=True),
)
"""An outbox of what changed, so every running server can catch up without a restart."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False, index=True),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("entity", String(16), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
)
"""Every administrative change: who, what, when, before and after."""

usage = Table(
    "usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("day", String(10), nullable=False),
    Column("caller_kind", String(16), nullable=False),
    Column("caller_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("upstream", String(300), nullable=True),
    Column("status", Integer, nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("cached_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False, server_default="0"),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cost_pusd", BigInteger, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("request_id", String(64), nullable=False),
    Column("team_id", Integer, nullable=True),
    Column("person", String(200), nullable=True),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("price_id", Integer, nullable=True),
)
"""The ledger: one row per request, in integer picodollars (1e-12 USD)."""


USAGE_SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "cost_pusd",
)
"""What the daily aggregates sum (``errors``: requests answered with a status >= 400)."""


def _sums() -> list[Column[int]]:
    return [Column(name, BigInteger, nullable=False) for name in USAGE_SUMS]


usage_daily = Table(
    "usage_daily",
    metadata,
    Column("team_id", Integer, primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("caller_kind", String(16), primary_key=True),
    Column("caller_id", String(200), primary_key=True),
    Column("person", String(200), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("upstream", String(300), primary_key=True),
    Column("price_id", Integer, primary_key=True),
    *_sums(),
)
"""The ledger summed per day, caller, team, person, model, upstream and price charged, as
rows are written (team 0, person '', upstream '' and price 0 stand for none). Reports and
budgets read it."""

usage_team_daily = Table(
    "usage_team_daily",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("team_id", Integer, primary_key=True),
    *_sums(),
)
"""The ledger summed per day and team: the organisation-wide summaries read it."""

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("models", JSON, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    sqlite_autoincrement=True,
)
"""Teams; a deleted team's id is never given again (the ledger and aggregates keep it)."""

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Integer, primary_key=True),
    Column("person", String(200), primary_key=True),
    Column("added_at", Double, nullable=False),
)
"""People (a JWT subject or an e-mail, as the tokens name them) in teams."""

budgets = Table(
    "budgets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope_kind", String(16), nullable=False),
    Column("scope_id", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("period", String(8), nullable=False),
    Column("days", Integer, nullable=False),
    Column("limit_pusd", BigInteger, nullable=False),
    Column("hard", Boolean, nullable=False),
    Column("thresholds", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    sqlite_autoincrement=True,
)
"""Spending limits: a scope (team, person or key), optionally one model ('' for all), a
period (day, week, month, or rolling over ``days``), hard (refuse) or soft (alert)."""

budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("budget_id", Integer, nullable=False),
    Column("window_start", String(32), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("created_at", Double, nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("delivered_at", Double, nullable=True),
)
"""Each threshold a budget's spend crossed, once per window, and its webhook delivery."""

responses = Table(
    "responses",
    metadata,
    Column("caller_kind", String(16), primary_key=True),
    Column("caller_id", String(200), primary_key=True),
    Column("id", String(256), primary_key=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("model", String(200), nullable=False),
    Column("response", JSON, nullable=False),
    Column("input_items", JSON, nullable=False),
    Column("context", JSON, nullable=False),
)
"""Responses kept for the Responses API (``store: true``), per caller, until ``expires_at``.
``JSON``, not PostgreSQL's ``jsonb``: ``json`` keeps the text as given, ``\\u0000`` included."""
