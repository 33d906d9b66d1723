"""The app factory: ``quantized.app:create_app`` builds one ASGI application per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from quantized.api import admin, openapi, usage
from quantized.api.asgi import ASGIApp, Receive, Scope, Send
from quantized.api.chat import PATH as CHAT_PATH
from quantized.api.chat import ChatEndpoint
from quantized.api.errors import (
    database_error_handler,
    domain_error_handler,
    http_error_handler,
    unexpected_error_handler,
)
from quantized.api.health import healthz, readyz
from quantized.api.models import ModelsEndpoint, is_models_path
from quantized.errors import QuantizedError
from quantized.runtime import Runtime
from quantized.settings import Settings, load_settings


class QuantizedApp:
    """Sends the hot ``/v1/models`` routes to their raw handler and the rest to Starlette."""

    def __init__(
        self, runtime: Runtime, models: ModelsEndpoint, chat: ChatEndpoint, rest: ASGIApp
    ) -> None:
        self.runtime = runtime
        self.models = models
        self._chat = chat
        self._rest = rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == CHAT_PATH:
                await self._chat(scope, receive, send)
                return
            if is_models_path(path):
                await self.models(scope, receive, send)
                return
        await self._rest(scope, receive, send)


def create_app(settings: Settings | None = None) -> QuantizedApp:
    """Build the application; nothing starts until the server runs its lifespan."""
    settings = settings or load_settings()
    logging.getLogger("quantized").setLevel(settings.log_level.upper())
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    rest = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *openapi.routes(),
            *usage.routes(),
            *admin.routes(),
        ],
        exception_handlers={
            QuantizedError: domain_error_handler,
            HTTPException: http_error_handler,
            DBAPIError: database_error_handler,
            ConnectionError: database_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    rest.state.runtime = runtime
    models = ModelsEndpoint(runtime.state, settings.listing_max_age)
    return QuantizedApp(runtime, models, ChatEndpoint(runtime), rest)
