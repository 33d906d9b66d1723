"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Integer,
    LargeBinary,
    MetaData,
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
)

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
)
"""The ledger: one row per chat request served, in integer picodollars (1e-12 USD)."""

budgets = Table(
    "budgets",
    metadata,
    Column("subject_kind", String(16), primary_key=True),
    Column("subject_id", String(200), primary_key=True),
    Column("daily_pusd", BigInteger, nullable=True),
    Column("monthly_pusd", BigInteger, nullable=True),
    Column("updated_at", Double, nullable=False),
)
"""Spending limits per caller (an API key, or a JWT subject), per UTC day and month."""

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
