"""``/admin/v1/models/{id}/prices``: a model's price history, new and scheduled prices.

``GET`` lists every price the model has had and is scheduled to have, with when each
applies and who set it; ``POST`` sets a price now or from a later ``effective_from``;
``DELETE …/prices/{price_id}`` cancels a scheduled price before its instant.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from quantized.api import price_schemas as schemas
from quantized.api.admin.catalog import PREFIX, TAGS, ModelPath
from quantized.api.json_response import json_response
from quantized.api.requests import runtime
from quantized.api.routing import Answer, body, operation, path, principal, route
from quantized.catalog.schema import CostEntry, EffectiveFrom
from quantized.services import prices as service
from quantized.services.actors import actor_of


class PricePath(ModelPath):
    what = "price"
    code = "price_not_found"
    price_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


class PriceChange(CostEntry):
    """A price (USD per million tokens), now or from a later instant."""

    effective_from: EffectiveFrom | None = Field(
        default=None,
        description="When it takes effect, in the future (unix seconds, or an RFC 3339 date "
        "or date-time); left out: now",
    )


@operation(
    "A model's price history",
    tags=TAGS,
    path=ModelPath,
    description="Every price the model has had and is scheduled to have, in the order they "
    "take effect, with who set each. Ledger rows name the price they were charged at "
    "(price_id).",
    responses={200: Answer("Its prices", schemas.PriceList)},
)
async def list_prices(request: Request) -> Response:
    model_id = path(request, ModelPath).model_id
    found = await service.history(runtime(request).engine, model_id)
    return json_response(
        {"object": "list", "model": model_id, "data": [service.price_json(v) for v in found]}
    )


@operation(
    "Set a price, now or from a later instant",
    tags=TAGS,
    path=ModelPath,
    body=PriceChange,
    description="Without effective_from the price applies now. With a future "
    "effective_from it applies from that instant on every instance at once: requests that "
    "began before it are charged the old price, the others the new one; the listing shows "
    "it from then. A price scheduled for the same instant is replaced. Audited "
    "(price.set, price.schedule).",
    responses={201: Answer("The price", schemas.Price)},
)
async def set_price(request: Request) -> Response:
    model_id = path(request, ModelPath).model_id
    given = body(request, PriceChange)
    app = runtime(request)
    view = await service.set_price(
        app.engine,
        actor_of(principal(request)),
        model_id,
        given.to_cost(),
        None if given.effective_from is None else float(given.effective_from),
    )
    await app.refresh()
    return json_response(service.price_json(view), status=201)


@operation(
    "Cancel a scheduled price",
    tags=TAGS,
    path=PricePath,
    description="Only before its instant: a price that has taken effect is history, and "
    "history is never rewritten (409). Audited (price.cancel).",
    responses={200: Answer("Cancelled", schemas.CancelledPrice)},
    errors=(409,),
)
async def cancel_price(request: Request) -> Response:
    where = path(request, PricePath)
    app = runtime(request)
    row = await service.cancel(
        app.engine, actor_of(principal(request)), where.model_id, where.price_id
    )
    await app.refresh()
    return json_response({"id": row.id, "object": "model.price", "deleted": True})


def routes() -> list[BaseRoute]:
    return [
        route(f"{PREFIX}/{{author}}/{{slug}}/prices", GET=list_prices, POST=set_price),
        route(f"{PREFIX}/{{author}}/{{slug}}/prices/{{price_id}}", DELETE=cancel_price),
    ]
