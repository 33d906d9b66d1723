"""The one settings class.

Every knob is read here, from environment variables prefixed ``QUANTIZED_`` and
from an optional ``.env`` file in the working directory. Nothing else in the
package reads the environment directly, with one documented exception: the
chat proxy reads upstream provider keys from the variables the catalog names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quantized.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///quantized.db"


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

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        from quantized.store.database import async_url

        try:
            async_url(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return value


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one clear line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"invalid setting QUANTIZED_{field.upper()}: {message}") from None
