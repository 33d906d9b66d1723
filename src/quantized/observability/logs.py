"""Log lines on stderr, as text or as one JSON object per line, never with a secret.

:func:`log_config` is the ``logging.config.dictConfig`` that uvicorn applies in each
server process. Both formatters write the time in UTC (ISO 8601, milliseconds), the
level, the logger and the message, then the request's id when the line was logged
while a request was answered (:data:`REQUEST_ID_VAR`, set by the error boundary),
then whatever the call passed in ``extra=`` (the request log's fields). uvicorn's
access log lines get their parts as fields (client, method, path, status).

Whatever looks like a credential — an ``sk-...`` API key, a JWT, the token after
``Bearer`` — is replaced with ``[redacted]`` everywhere in a line, tracebacks included.
"""

from __future__ import annotations

import logging
import re
import time
from contextvars import ContextVar
from typing import Any, Literal

import orjson

REQUEST_ID_VAR: ContextVar[bytes | None] = ContextVar("quantized.request_id", default=None)
"""The id of the request being answered in this context (set by the error boundary)."""

REDACTED = "[redacted]"
_KEY = re.compile(
    r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}"  # sk-quantized-..., providers' sk-..., sk-ant-...
    r"|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # a JWT
)
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_QUOTE = re.compile(r'[\s"]')
_STANDARD = frozenset(
    (*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "taskName")
) | {"request_id", "color_message"}  # ours; uvicorn's colored copy of the message
"""A record's attributes that are not fields passed in ``extra=``."""


def scrub(text: str) -> str:
    """``text`` with every credential-looking token replaced by ``[redacted]``."""
    return _BEARER.sub(rf"\1 {REDACTED}", _KEY.sub(REDACTED, text))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def timestamp(record: logging.LogRecord) -> str:
    """``2026-01-31T12:34:56.789Z``: the record's time in UTC."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields after its message: request id, access log parts, extras."""
    found: dict[str, Any] = {}
    request_id = getattr(record, "request_id", None) or REQUEST_ID_VAR.get()
    if request_id:
        found["request_id"] = request_id.decode() if isinstance(request_id, bytes) else request_id
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
        found |= {"client": args[0], "method": args[1], "path": args[2], "status": args[4]}
    for key, value in vars(record).items():
        if key not in _STANDARD and value is not None:
            found[key] = value
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            line.setdefault(key, value)  # an extra named like a base field does not replace it
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(_clean(line), default=str).decode()


def _text(value: Any) -> str:
    text = str(value)
    return orjson.dumps(text).decode() if not text or _QUOTE.search(text) else text


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``, then any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"]
        for key, value in fields(record).items():
            if key in ("client", "method", "path", "status") and record.name == "uvicorn.access":
                continue  # the message says it all
            if isinstance(value, dict):
                parts += [f"{key}.{name}={_text(item)}" for name, item in value.items()]
            else:
                parts.append(f"{key}={_text(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return scrub(line)


def log_config(level: str, log_format: Literal["text", "json"] = "text") -> dict[str, Any]:
    """One format for uvicorn's loggers, ours and any other library's, on stderr."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": formatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "quantized": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            # botocore logs SigV4 canonical requests (session tokens included) at DEBUG
            "botocore": {"level": "WARNING"},
        },
    }
