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


Kind = Annotated[str, Field(pattern=NO_NUL)]


class ContentPart(BaseModel):
    model_config = PASSED_ON

    type: Kind = Field(description="input_text, input_image, input_file, output_text, …")


class InputMessage(BaseModel):
    """A message (``type`` may be left out, as OpenAI's "easy input message")."""

    model_config = PASSED_ON

    type: Literal["message"] | None = None
    role: Literal["user", "assistant", "system", "developer"]
    content: Annotated[str, Field(pattern=NO_NUL)] | list[ContentPart]


class CallItem(BaseModel):
    model_config = PASSED_ON

    type: Literal["function_call", "custom_tool_call"]
    call_id: Kind
    name: Kind


class CallOutputItem(BaseModel):
    model_config = PASSED_ON

    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: Kind


class AdditionalToolsItem(BaseModel):
    model_config = PASSED_ON

    type: Literal["additional_tools"]
    tools: list[JsonObject]


class OtherItem(BaseModel):
    """Items passed on as they are (to an upstream serving the Responses API), or dropped."""

    model_config = PASSED_ON

    type: Literal["reasoning", "item_reference", "web_search_call", "file_search_call"]


InputItemIn = InputMessage | CallItem | CallOutputItem | AdditionalToolsItem | OtherItem


class Tool(BaseModel):
    model_config = PASSED_ON

    type: Kind = Field(description="function, custom, namespace, web_search, …")


class ResponsesRequestBody(BaseModel):
    """OpenAI's Responses API request; fields not listed are passed to an upstream that
    serves that API (``quantized.gateway.responses.request`` checks what the gateway uses)."""

    model_config = PASSED_ON

    model: Annotated[str, Field(min_length=1, pattern=NO_NUL)] = Field(
        description="A model id from GET /v1/models, or one of its aliases"
    )
    input: Annotated[str, Field(pattern=NO_NUL)] | list[InputItemIn] = Field(
        description="A user message, or a list of input items (messages, function calls "
        "and their outputs, reasoning items, …); optional with previous_response_id"
    )
    instructions: Annotated[str, Field(pattern=NO_NUL)] | None = None
    previous_response_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    store: bool | None = Field(True, description="Keep the response for its caller")
    stream: bool | None = False
    tools: list[Tool] | None = None
    text: JsonObject | None = None
    reasoning: JsonObject | None = None
    max_output_tokens: Count | None = None
