"""Where Redis is and how to reach it: one parsed ``QUANTIZED_REDIS_URL`` for every client.

Three forms, read the way redis-py reads them:

- ``redis://[[user]:password@]host[:port][/db]`` — plain TCP;
- ``rediss://…`` — TLS, verified against the system's trust store. Query
  parameters: ``ssl_ca_certs=/path/ca.pem`` (trusted too), ``ssl_cert_reqs=none|
  optional|required`` (default ``required``), ``ssl_check_hostname=true|false``
  (default true when certificates are required), ``ssl_certfile`` and
  ``ssl_keyfile`` (a client certificate, for servers that ask for one);
- ``unix://[[user]:password@]/path/to/redis.sock[?db=N]`` — a Unix socket.

``db=N`` is accepted as a query parameter by all three. Anything else is refused
when the settings are read, so a typo stops ``quantized serve`` with one line
instead of a server that silently speaks plaintext or ignores a parameter.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_TLS = ("ssl_ca_certs", "ssl_cert_reqs", "ssl_check_hostname", "ssl_certfile", "ssl_keyfile")
_KNOWN = ("db", *_TLS)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class RedisAddress:
    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    """The Unix socket, for ``unix://`` URLs."""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_certs: str | None = None
    cert_reqs: str = "required"
    check_hostname: bool = True
    certfile: str | None = None
    keyfile: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The pipelined client's TLS context (``None`` without TLS); redis-py builds the same
        from :meth:`redis_py_options`. Raises ``OSError``/``SSLError`` for unusable files."""
        if not self.tls:
            return None
        context = ssl.create_default_context()  # the system trust store
        context.check_hostname = self.check_hostname and self.cert_reqs != "none"
        context.verify_mode = _CERT_REQS[self.cert_reqs]
        if self.ca_certs:
            context.load_verify_locations(cafile=self.ca_certs)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def redis_py_options(self) -> dict[str, Any]:
        """Connection-pool arguments for redis-py, equivalent to what this client does."""
        from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection

        options: dict[str, Any] = {
            "db": self.db,
            "username": self.username,
            "password": self.password,
        }
        if self.path is not None:
            options.update(connection_class=UnixDomainSocketConnection, path=self.path)
            return options
        options.update(host=self.host, port=self.port)
        if self.tls:
            options.update(
                connection_class=SSLConnection,
                ssl_cert_reqs=self.cert_reqs,
                ssl_ca_certs=self.ca_certs,
                ssl_check_hostname=self.check_hostname and self.cert_reqs != "none",
                ssl_certfile=self.certfile,
                ssl_keyfile=self.keyfile,
            )
        return options


def parse_redis_url(url: str) -> RedisAddress:
    """Read a Redis URL, or raise ``ValueError`` saying what is wrong (never echoing it)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError("the Redis URL's query string is malformed") from None
    unknown = sorted(set(query) - set(_KNOWN))
    if unknown:
        raise ValueError(f"unknown Redis URL parameter {unknown[0]!r} (known: {', '.join(_KNOWN)})")
    values = {name: found[-1] for name, found in query.items()}
    fields: dict[str, Any] = {
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "db": _database(parts.path if parts.scheme != "unix" else "", values.get("db")),
    }
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the Redis URL's port is not a number from 0 to 65535") from None
    if parts.scheme == "unix":
        if not parts.path or parts.path == "/":
            raise ValueError("a unix:// Redis URL needs the socket's path: unix:///path/redis.sock")
        fields["path"] = unquote(parts.path)
    else:
        if not parts.hostname:
            raise ValueError("the Redis URL has no host")
        fields.update(host=unquote(parts.hostname), port=port or 6379)
    tls_given = sorted(set(values) & set(_TLS))
    if parts.scheme != "rediss":
        if tls_given:
            raise ValueError(f"{tls_given[0]} needs a rediss:// (TLS) URL")
        return RedisAddress(**fields)
    fields.update(tls=True, **_tls_fields(values))
    return RedisAddress(**fields)


def check_redis_url(url: str) -> RedisAddress:
    """:func:`parse_redis_url`, and the TLS files must be readable (for settings validation)."""
    address = parse_redis_url(url)
    try:
        address.ssl_context()
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ValueError(f"cannot load the Redis TLS certificates: {reason}") from None
    return address


def _database(path: str, query: str | None) -> int:
    text = query if query is not None else unquote(path).strip("/")
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError("the Redis database must be a number (redis://host:6379/0, ?db=0)")
    return int(text)


def _tls_fields(values: dict[str, str]) -> dict[str, Any]:
    cert_reqs = values.get("ssl_cert_reqs", "required").lower()
    if cert_reqs not in _CERT_REQS:
        raise ValueError("ssl_cert_reqs is none, optional or required")
    check = values.get("ssl_check_hostname", "true").lower()
    if check not in _TRUE + _FALSE:
        raise ValueError("ssl_check_hostname is true or false")
    files = {name: values.get(name) or None for name in ("ssl_ca_certs", "ssl_certfile")}
    keyfile = values.get("ssl_keyfile") or None
    for name, value in (*files.items(), ("ssl_keyfile", keyfile)):
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{name}: no file at {value}")
    if keyfile and not files["ssl_certfile"]:
        raise ValueError("ssl_keyfile needs ssl_certfile")
    return {
        "cert_reqs": cert_reqs,
        "check_hostname": check in _TRUE,
        "ca_certs": files["ssl_ca_certs"],
        "certfile": files["ssl_certfile"],
        "keyfile": keyfile,
    }
