"""The schema of a catalog entry, shared by the file format and the admin API.

Validation is strict: prices must be numbers (not strings), lists must be lists,
unknown fields are rejected; dates may be given as ISO strings.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from quantized.catalog.model import Cost, Model, PriceSource, Upstream
from quantized.errors import CatalogFormatError
from quantized.validation import describe, first_problem

MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._:-]*$"

Modality = Literal["text", "image", "audio", "video"]
Feature = Literal["tool_calls", "structured_output", "reasoning", "prompt_caching", "web_search"]
Price = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False, strict=True)]
Text = Annotated[str, Field(max_length=10_000)]
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CostEntry(_Strict):
    prompt: Price
    completion: Price
    input_cache_read: Price | None = None


class UpstreamEntry(_Strict):
    provider: Literal["openai", "anthropic"]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+", max_length=2048)]
    model: Annotated[str, Field(min_length=1, max_length=256)]
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None


class PriceSourceEntry(_Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    checked: Annotated[dt.date, Field(strict=False)]
    via: Annotated[str, Field(max_length=1000)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


def _text_only() -> list[Modality]:
    return ["text"]


class CatalogEntry(_Strict):
    id: Annotated[str, Field(pattern=MODEL_ID_PATTERN, max_length=200)]
    name: Line
    description: Text | None = None
    created: Annotated[
        int | None,
        Field(ge=0, le=10**11, description="Unix seconds; a date or ISO datetime is accepted too."),
    ] = None
    status: Literal["active", "deprecated", "disabled"] = "active"
    input_modalities: list[Modality] = Field(default_factory=_text_only)
    output_modalities: list[Modality] = Field(default_factory=_text_only)
    supported_features: list[Feature] = Field(default_factory=list)
    context_length: Annotated[int, Field(gt=0, le=2**53)] | None = None
    cost: CostEntry
    price_source: PriceSourceEntry | None = None
    upstreams: list[UpstreamEntry] = Field(default_factory=list)

    @field_validator("created", mode="before")
    @classmethod
    def _unix_seconds(cls, value: object) -> object:
        """A date, a datetime (ISO string or YAML value) or unix seconds, as unix seconds."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError("use a date (2025-04-14), a datetime or unix seconds") from None
        if isinstance(value, dt.date):
            return _unix(value)
        raise ValueError("use a date (2025-04-14), a datetime or unix seconds")

    @field_validator("input_modalities", "output_modalities", "supported_features")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists each value at most once")
        return values

    def to_model(self, now: int) -> Model:
        cost = self.cost
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
            cost=Cost(
                prompt=cost.prompt,
                completion=cost.completion,
                input_cache_read=(
                    cost.prompt if cost.input_cache_read is None else cost.input_cache_read
                ),
            ),
            price_source=(
                PriceSource(**self.price_source.model_dump(mode="json"))
                if self.price_source
                else None
            ),
            upstreams=tuple(Upstream(**u.model_dump()) for u in self.upstreams),
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
