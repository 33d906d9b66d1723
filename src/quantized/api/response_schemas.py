"""Response shapes of the Responses API's stored-response routes, for the OpenAPI document.

The answers hold what the client sent and was answered, so the objects allow
every field; these name the ones the gateway itself writes or relies on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
