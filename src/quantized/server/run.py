"""Run the gateway under uvicorn with Quantized's HTTP protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from quantized.observability.logs import log_config
from quantized.server.capacity import raise_descriptor_limit
from quantized.settings import Settings, export_environment

APP = "quantized.app:create_app"
log = logging.getLogger("quantized.server")


def http_protocol(settings: Settings) -> type[asyncio.Protocol] | str:
    """Quantized's protocols (the models routes on their own first, unless access is logged
    or the fast path is off), or uvicorn's own if this uvicorn cannot host them (logged)."""
    try:
        from quantized.server.fast import FastProtocol
        from quantized.server.protocol import QuantizedProtocol
    except ImportError as exc:
        log.warning("uvicorn's httptools protocol changed (%s): using it unmodified", exc)
        return "httptools"
    if settings.fast_path and not settings.access_log:
        return FastProtocol
    return QuantizedProtocol


@contextlib.contextmanager
def metrics_directory(settings: Settings, workers: int) -> Iterator[None]:
    """Where workers keep their metrics so that any worker's scrape sees them all: the
    directory ``PROMETHEUS_MULTIPROC_DIR`` names (made if missing, emptied of an earlier
    run's files; whatever the number of workers), else with several workers a fresh one,
    removed at exit. The variable is set here for prometheus-client, in this process and
    the workers it starts (it may have come from ``.env``, which only Settings reads)."""
    given = settings.metrics_multiprocess_dir
    if not settings.metrics or (workers == 1 and not given):
        yield
        return
    made = None
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
    else:
        given = made = tempfile.mkdtemp(prefix="quantized-metrics-")
    export_environment("PROMETHEUS_MULTIPROC_DIR", given)
    try:
        yield
    finally:
        if made is not None:
            export_environment("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(made, ignore_errors=True)


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT/SIGTERM; workers > 1 run under uvicorn's process supervisor."""
    raise_descriptor_limit()
    with metrics_directory(settings, workers):
        _run(settings, host=host, port=port, workers=workers)


def _run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(settings),
        loop="uvloop",
        ws="none",
        lifespan="on",
        interface="asgi3",
        access_log=settings.access_log,
        proxy_headers=False,  # nothing uses the client's address: no middleware for it
        log_config=log_config(settings.log_level, settings.log_format),
        log_level=settings.log_level,
        backlog=2048,
        timeout_keep_alive=max(1, round(settings.keepalive_timeout)),
        timeout_graceful_shutdown=30,
    )
