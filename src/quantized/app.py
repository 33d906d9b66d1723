"""The app factory: ``quantized.app:create_app`` builds one ASGI application per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.routing import Router

from quantized.api import (
    admin,
    chat,
    embeddings,
    messages,
    metrics,
    models,
    openapi,
    responses,
    usage,
)
from quantized.api.asgi import Receive, Scope, Send
from quantized.api.bodies import BodyBudget
from quantized.api.boundary import Boundary, RequestIds
from quantized.api.chat import PATH as CHAT_PATH
from quantized.api.chat import chat_completions
from quantized.api.console import Console, is_console_path
from quantized.api.errors import OPENAI
from quantized.api.health import healthz, readyz
from quantized.api.model_route import ModelRoute
from quantized.api.models import ModelsEndpoint, is_models_path, route_template
from quantized.api.routing import route
from quantized.runtime import Runtime
from quantized.server.capacity import connection_capacity
from quantized.server.deadlines import Deadlines
from quantized.settings import Settings, load_settings


class QuantizedApp:
    """Every request passes the error boundary, then goes to its endpoint: the raw model
    routes, the ``/v1/models`` routes (whose hot path the HTTP protocol answers itself), or
    the framework's router for everything else."""

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        self.runtime = runtime
        self.boundary = Boundary(RequestIds(), runtime.metrics)
        self.body_budget = BodyBudget(settings.max_body_buffer_bytes)
        self.max_connections = connection_capacity(settings.max_connections)
        self.deadlines = Deadlines(
            period=min(1.0, settings.header_timeout / 4, settings.keepalive_timeout / 4)
        )
        self.console = Console(settings)
        self.models = ModelsEndpoint(
            runtime.state, settings.listing_max_age, settings.max_body_bytes
        )
        self.model_routes: dict[str, ModelRoute] = {
            CHAT_PATH: chat_completions(
                runtime.pipeline,
                max_body_bytes=settings.max_body_bytes,
                budget=self.body_budget,
            ),
            **messages.messages_routes(
                runtime.pipeline,
                max_body_bytes=settings.max_body_bytes,
                budget=self.body_budget,
            ),
            responses.PATH: responses.create_response(
                runtime.pipeline,
                runtime.responses,
                max_body_bytes=settings.max_body_bytes,
                budget=self.body_budget,
            ),
            embeddings.PATH: embeddings.embeddings(
                runtime.pipeline,
                max_body_bytes=settings.max_body_bytes,
                budget=self.body_budget,
            ),
        }

        @asynccontextmanager
        async def lifespan(_app: Any) -> AsyncIterator[None]:
            async with self.running():
                yield

        self.router = Router(
            routes=[
                route("/healthz", GET=healthz),
                route("/readyz", GET=readyz),
                *openapi.routes(),
                *(metrics.routes(settings.metrics_public) if runtime.metrics else ()),
                *usage.routes(),
                *responses.routes(),
                *admin.routes(),
            ],
            redirect_slashes=False,
            lifespan=lifespan,
        )
        operations = (
            *models.OPERATIONS,
            *chat.OPERATIONS,
            *messages.OPERATIONS,
            *responses.OPERATIONS,
            *embeddings.OPERATIONS,
        )
        self.document = openapi.Document(self.router.routes, operations)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The runtime (database, Redis, background work) and the connection deadlines."""
        async with self.runtime.running(), self.deadlines.running():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)  # lifespan
            return
        scope["app"] = self
        path = scope["path"]
        route = self.model_routes.get(path)
        if route is not None:
            await self.boundary(route, scope, receive, send, route.errors, path)
        elif is_models_path(path):
            await self.boundary(self.models, scope, receive, send, OPENAI, route_template(path))
        elif is_console_path(path):
            await self.boundary(self.console, scope, receive, send, OPENAI, "/ui")
        else:
            await self.boundary(self.router, scope, receive, send, OPENAI)


def create_app(settings: Settings | None = None) -> QuantizedApp:
    """Build the application; nothing starts until the server runs its lifespan."""
    settings = settings or load_settings()
    logging.getLogger("quantized").setLevel(settings.log_level.upper())
    return QuantizedApp(Runtime(settings), settings)
