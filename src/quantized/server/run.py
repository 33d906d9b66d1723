"""Run the gateway under uvicorn with Quantized's HTTP protocol."""

from __future__ import annotations

from typing import Any

import uvicorn

from quantized.server.protocol import QuantizedProtocol
from quantized.settings import Settings

APP = "quantized.app:create_app"


def log_config(level: str) -> dict[str, Any]:
    """One format for uvicorn's loggers and ours, on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {"stderr": handler},
        "loggers": {
            "quantized": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT/SIGTERM; workers > 1 run under uvicorn's process supervisor."""
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=QuantizedProtocol,
        loop="uvloop",
        ws="none",
        lifespan="on",
        interface="asgi3",
        access_log=settings.access_log,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        backlog=2048,
        timeout_graceful_shutdown=30,
    )
