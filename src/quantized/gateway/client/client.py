"""The one client a process uses for every upstream: pools per origin and proxy."""

from __future__ import annotations

import ssl
from pathlib import Path

from quantized.errors import ConfigurationError
from quantized.gateway.client.origin import Origin, split_url
from quantized.gateway.client.pool import Pool
from quantized.gateway.client.proxy import Proxy, ProxyRules
from quantized.gateway.client.response import Headers, Response

DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


def ssl_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """The system's trusted CAs, plus those in ``ca_file`` (PEM) when given."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"cannot load the upstream CA file {ca_file}: {exc.strerror or exc}"
            ) from None
    return context


class UpstreamClient:
    """Pools per (origin, proxy); the one client a process uses for every upstream."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        https_proxy: str | None = None,
        http_proxy: str | None = None,
        no_proxy: str | None = None,
        ca_file: str | Path | None = None,
    ) -> None:
        if max_connections_per_origin < 1 or max_response_bytes < 1:
            raise ConfigurationError("connection and response limits must be positive")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections_per_origin
        self._max_response_bytes = max_response_bytes
        self._proxies = ProxyRules.parse(https_proxy, http_proxy, no_proxy)
        self._ssl = ssl_context(ca_file)
        self._pools: dict[tuple[Origin, Proxy | None], Pool] = {}
        self._targets: dict[str, tuple[Pool, bytes]] = {}

    def pool(self, origin: Origin) -> Pool:
        """The pool for ``origin`` (through its proxy, if any)."""
        proxy = self._proxies.proxy_for(origin)
        pool = self._pools.get((origin, proxy))
        if pool is None:
            pool = self._pools[origin, proxy] = Pool(
                origin,
                proxy,
                ssl_context=self._ssl,
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                max_connections=self._max_connections,
                max_response_bytes=self._max_response_bytes,
            )
        return pool

    def _target(self, url: str) -> tuple[Pool, bytes]:
        """The pool for ``url`` and the start of its request head, through ``Host``."""
        origin, path = split_url(url)
        pool = self.pool(origin)
        start = b"POST " + path.encode() + b" HTTP/1.1\r\nhost: " + origin.authority + b"\r\n"
        if pool.proxy is not None and origin.scheme == "http":
            # through an HTTP proxy: the absolute URL, and the proxy's credentials
            start = start.replace(b"POST /", b"POST http://" + origin.authority + b"/", 1)
            if pool.proxy.authorization is not None:
                start += b"proxy-authorization: " + pool.proxy.authorization + b"\r\n"
        target = self._targets[url] = (pool, start)
        return target

    async def post(self, url: str, headers: Headers, body: bytes) -> Response:
        """POST ``body`` to ``url``, once; the response as soon as its head arrived."""
        target = self._targets.get(url)
        if target is None:
            target = self._target(url)
        pool, start = target
        head = [start]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head.append(b"content-length: %d\r\n\r\n" % len(body))
        return await pool.request(b"".join(head), body)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
