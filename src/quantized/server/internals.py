"""The parts of uvicorn's private httptools protocol that Quantized's protocol relies on.

``quantized.server.protocol`` subclasses ``HttpToolsProtocol`` and reads or calls
these. They are not a public API: a uvicorn release may rename one. The server
checks them all once, when its first connection arrives; if one is missing it
logs a warning and serves every request through the plain ASGI path (slower,
same answers) instead of failing them.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SET_IN_INIT = (
    "app",
    "loop",
    "access_log",
    "parser",
    "transport",
    "flow",
    "pipeline",
    "cycle",
    "expect_100_continue",
    "server_state",
    "connections",
    "timeout_keep_alive",
    "timeout_keep_alive_task",
)
SET_PER_MESSAGE = ("url", "headers")
METHODS = (
    "connection_made",
    "data_received",
    "eof_received",
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "on_response_complete",
    "send_400_response",
    "timeout_keep_alive_handler",
    "_unset_keepalive_if_required",
)
PARSER_METHODS = ("get_method", "get_http_version", "should_keep_alive")
SERVER_STATE = ("total_requests", "default_headers", "connections")


def missing_internals(protocol: Any) -> list[str]:
    """The internals ``protocol`` (a fresh ``HttpToolsProtocol``) lacks, by name."""
    missing = [name for name in METHODS if not callable(getattr(HttpToolsProtocol, name, None))]
    missing += [name for name in SET_IN_INIT if not hasattr(protocol, name)]
    parser = getattr(protocol, "parser", None)
    missing += [f"parser.{n}" for n in PARSER_METHODS if not callable(getattr(parser, n, None))]
    state = getattr(protocol, "server_state", None)
    missing += [f"server_state.{n}" for n in SERVER_STATE if not hasattr(state, n)]
    try:
        flow = FlowControl(None)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any failure means the internals changed
        missing.append(f"FlowControl ({type(exc).__name__})")
    else:
        missing += [f"flow.{n}" for n in ("write_paused", "read_paused") if not hasattr(flow, n)]
    if not missing:
        try:
            HttpToolsProtocol.on_message_begin(protocol)
        except Exception as exc:  # noqa: BLE001 - any failure means the internals changed
            missing.append(f"on_message_begin ({type(exc).__name__})")
        else:
            missing += [name for name in SET_PER_MESSAGE if not hasattr(protocol, name)]
    return missing
