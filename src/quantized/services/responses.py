"""Reading and deleting the caller's stored responses, and paging their input items.

Only the caller that made a response can read or delete it; to any other caller it
does not exist (the same 404 as an unknown id, never a 403 that would say it does).
No model access applies: a caller reads what it was answered, even if its key may
no longer use that model.
"""

from __future__ import annotations

from typing import Any, Literal

from quantized.errors import InvalidRequestError, NotFoundError
from quantized.gateway.responses.stored import Caller, ResponseStore, StoredResponse
from quantized.values import shown

Order = Literal["asc", "desc"]


def not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"No response found with id '{shown(response_id, 256)}'.")


async def find(store: ResponseStore, caller: Caller, response_id: str) -> StoredResponse:
    """The caller's response, or a 404 (unknown, expired, deleted, or another caller's)."""
    found = await store.get(caller, response_id)
    if found is None:
        raise not_found(response_id)
    return found


async def delete(store: ResponseStore, caller: Caller, response_id: str) -> dict[str, Any]:
    """Delete the caller's response (a 404 if it has none by that id)."""
    if not await store.delete(caller, response_id):
        raise not_found(response_id)
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def input_items(
    stored: StoredResponse, *, limit: int, order: Order, after: str | None
) -> dict[str, Any]:
    """One page of the response's own input items, in ``order`` (``desc``: the last item
    first), after the item ``after`` names; an id that names none of them is a 400."""
    items = stored.input_items if order == "asc" else stored.input_items[::-1]
    start = 0
    if after is not None:
        ids = [item.get("id") for item in items]
        if after not in ids:
            raise InvalidRequestError(
                f"after: no input item of response '{shown(stored.id, 256)}' has the id "
                f"'{shown(after, 256)}'",
                param="after",
            )
        start = ids.index(after) + 1
    page = items[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": start + limit < len(items),
    }
