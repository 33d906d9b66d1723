"""The embeddings API's request and answer, as pydantic models (see ``schemas``): the
OpenAPI document's description of exactly what ``gateway.surfaces.embeddings`` accepts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantized.api.schemas import NO_NUL, PASSED_ON, Count
from quantized.payloads import MAX_COUNT

Text = Annotated[str, Field(min_length=1, pattern=NO_NUL)]
Token = Annotated[int, Field(ge=0, le=MAX_COUNT)]
TokenArray = Annotated[list[Token], Field(min_length=1)]
Input = (
    Text
    | Annotated[list[Text], Field(min_length=1)]
    | TokenArray
    | Annotated[list[TokenArray], Field(min_length=1)]
)


class EmbeddingsRequestBody(BaseModel):
    """OpenAI's embeddings request; fields not listed are passed to the upstream."""

    model_config = PASSED_ON

    model: Annotated[str, Field(min_length=1, pattern=NO_NUL)] = Field(
        description="A model id from GET /v1/models that serves embeddings"
    )
    input: Input = Field(
        description="A string, a list of strings, a token array, or a list of token arrays"
    )
    encoding_format: Literal["float", "base64"] | None = Field(
        default=None,
        description="float (the default) or base64: little-endian float32s, base64-encoded",
    )
    dimensions: Count | None = None
    user: Annotated[str, Field(pattern=NO_NUL)] | None = None


class Embedding(BaseModel):
    model_config = ConfigDict(extra="allow")

    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="The vector; a string with base64")


class EmbeddingList(BaseModel):
    """OpenAI's embeddings answer, relayed as the upstream sent it."""

    model_config = ConfigDict(extra="allow")

    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: dict[str, Any] | None = None
