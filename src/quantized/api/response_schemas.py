"""Response shapes of the Responses API's stored-response routes, for the OpenAPI document.

The answers hold what the client sent and was answered, so the objects allow
every field; these name the ones the gateway itself writes or relies on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantized.api.schemas import NO_NUL, PASSED_ON, Count, JsonObject

_OPEN = ConfigDict(extra="allow")


class ResponseObject(BaseModel):
    """OpenAI's ``response`` object, as the client was answered when it was made."""

    model_config = _OPEN

    id: str
    object: Literal["response"]
    model: str
    output: list[dict[str, Any]]


class InputItem(BaseModel):
    """One input item of a response (a message, a function call's output, …)."""

    model_config = _OPEN

    id: str
    type: str


class InputItemList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[InputItem]
    first_id: str | None = Field(description="The first item's id; null: no items")
    last_id: str | None = Field(description="The last item's id: the next page's `after`")
    has_more: bool


class ResponseDeleted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    object: Literal["response.deleted"]
    deleted: Literal[True]


class ResponsesRequestBody(BaseModel):
    """OpenAI's Responses API request; fields not listed are passed to an upstream that
    serves that API (``quantized.gateway.responses.request`` checks what the gateway uses)."""

    model_config = PASSED_ON

    model: Annotated[str, Field(min_length=1, pattern=NO_NUL)] = Field(
        description="A model id from GET /v1/models, or one of its aliases"
    )
    input: Annotated[str, Field(pattern=NO_NUL)] | list[JsonObject] = Field(
        description="A user message, or a list of input items (messages, function calls "
        "and their outputs, reasoning items, …); optional with previous_response_id"
    )
    instructions: Annotated[str, Field(pattern=NO_NUL)] | None = None
    previous_response_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    store: bool | None = Field(True, description="Keep the response for its caller")
    stream: bool | None = False
    tools: list[JsonObject] | None = None
    text: JsonObject | None = None
    reasoning: JsonObject | None = None
    max_output_tokens: Count | None = None
