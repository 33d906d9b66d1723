"""The admin API's upstream objects, for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Upstream(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["upstream"]
    id: str = Field(description="A stable id of the deployment (a hash of where it is)")
    name: str = Field(description="What x-quantized-upstream calls it")
    provider: Literal["openai", "anthropic", "gemini", "azure", "bedrock"]
    location: str = Field(description="provider, base URL (no credentials) and model")
    model: str = Field(description="The upstream's own name for the model")
    models: list[str] = Field(description="The catalog models that send to it")
    tier: int
    weight: int
    rpm: int = Field(description="The provider's requests per minute here (0: none)")
    tpm: int = Field(description="The provider's tokens per minute here (0: none)")
    state: Literal["closed", "open", "half_open"] = Field(
        description="Its circuit breaker: open skips it, half_open lets one probe through"
    )
    retry_in: float = Field(description="Seconds until an open breaker lets a probe through")
    recent_failures: int = Field(description="Failures in the window, as this instance saw")
    inflight: int = Field(description="Requests in flight to it from this instance")
    latency_ms: float | None = Field(
        description="This instance's recent time to first answer (moving average)"
    )
    served: int = Field(description="Requests it served for this instance")
    failed: int = Field(description="Requests that failed on it, from this instance")


class UpstreamList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[Upstream]
