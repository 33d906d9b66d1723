"""OpenTelemetry traces, when an OTLP endpoint is configured.

The OpenTelemetry SDK is imported here only when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and ``OTEL_SDK_DISABLED`` is
not: without them a gateway neither loads it nor pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quantized.observability.otel import Tracing
    from quantized.settings import Settings


def tracing(settings: Settings) -> Tracing | None:
    """The tracing observer the settings ask for, or ``None``."""
    endpoint = settings.otel_traces_endpoint()
    if endpoint is None or settings.otel_sdk_disabled:
        return None
    from quantized.observability.otel import Tracing

    return Tracing(endpoint=endpoint, content=settings.trace_content)
