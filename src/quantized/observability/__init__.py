"""What the gateway lets operators see: Prometheus metrics (``metrics``), OpenTelemetry
traces (``tracing``, the SDK imported only when configured), the pipeline's observers
that feed both (``observers``), and structured logs (``logs``)."""
