"""Egress proxies: which upstreams go through which proxy (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``), the way curl reads those variables.

- ``https://`` upstreams go through the HTTPS proxy (a ``CONNECT`` tunnel, TLS to the
  upstream inside it), ``http://`` upstreams through the HTTP proxy (absolute-form
  request targets). Proxy URLs are ``http://[user:password@]host[:port]``; without a
  scheme ``http://`` is assumed, without a port 1080 (as curl does). TLS to the proxy
  itself and SOCKS are not supported (a configuration error at startup).
- ``NO_PROXY`` is a list separated by commas (or blanks) of:
  ``*`` (no proxy at all); a name (``example.com``, with or without a leading dot,
  matches itself and every subdomain; ``*.example.com`` is read as ``.example.com``);
  an IP address or a CIDR range (``10.0.0.0/8``, ``fd00::/8``), compared with
  upstreams given as IP addresses (names are not resolved); any of these
  may end in ``:port`` (``[v6]:port`` for IPv6) to match that port only — an
  extension over curl. Matching ignores case and trailing dots.
- Nothing is exempt implicitly: like curl, ``localhost`` and ``127.0.0.1`` go through
  the proxy unless ``NO_PROXY`` lists them. Entries that cannot be read are ignored,
  as curl ignores them.

Credentials are kept only in the ``Proxy-Authorization`` value; a :class:`Proxy`'s
repr, and every message, names the proxy by ``host:port``.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from quantized.errors import ConfigurationError
from quantized.gateway.client.origin import Origin

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP forward proxy."""

    host: str
    port: int
    authorization: bytes | None = field(default=None, repr=False)
    """The ``Proxy-Authorization`` value (``Basic …``), when the URL had credentials."""

    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str, name: str) -> Proxy:
        """``url`` as a proxy; ``name`` (``HTTPS_PROXY``…) says which setting, in errors."""
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise ConfigurationError(f"{name} is not a valid proxy URL") from None
        if parts.scheme.lower() != "http":
            raise ConfigurationError(
                f"{name}: {parts.scheme}:// proxies are not supported (use an http:// proxy)"
            )
        if not parts.hostname:
            raise ConfigurationError(f"{name} is not a valid proxy URL (no host)")
        authorization = None
        if parts.username is not None:
            user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = b"Basic " + base64.b64encode(user_pass.encode())
        return cls(parts.hostname, port or 1080, authorization)


@dataclass(frozen=True, slots=True)
class NoProxy:
    """The hosts that never go through a proxy."""

    everything: bool = False
    names: tuple[tuple[str, int | None], ...] = ()
    networks: tuple[tuple[IPNetwork, int | None], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> NoProxy:
        everything = False
        names: list[tuple[str, int | None]] = []
        networks: list[tuple[IPNetwork, int | None]] = []
        for entry in (text or "").replace(",", " ").split():
            if entry == "*":
                everything = True
                continue
            host, port = _split_port(entry)
            if host is None:
                continue
            try:
                networks.append((ipaddress.ip_network(host, strict=False), port))
                continue
            except ValueError:
                pass
            name = host.lower().removeprefix("*.").strip(".")
            if name and "/" not in name and "*" not in name:
                names.append((name, port))
        return cls(everything, tuple(names), tuple(networks))

    def matches(self, host: str, port: int) -> bool:
        """Whether ``host`` (a name, or an IP address without brackets) on ``port`` is exempt."""
        if self.everything:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            name = host.lower().rstrip(".")
            return any(
                (name == entry or name.endswith("." + entry)) and entry_port in (None, port)
                for entry, entry_port in self.names
            )
        return any(
            address in network and entry_port in (None, port)
            for network, entry_port in self.networks
        )


def _split_port(token: str) -> tuple[str | None, int | None]:
    """``host[:port]``, ``[v6][:port]``, a bare IPv6 address or CIDR: (host, port)."""
    if token.startswith("["):
        host, bracket, rest = token[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None, None
        return host, int(rest[1:]) if rest else None
    if token.count(":") == 1:
        host, _, port = token.partition(":")
        return (host, int(port)) if port.isdigit() else (None, None)
    return token, None


@dataclass(frozen=True, slots=True)
class ProxyRules:
    """Which proxy, if any, an origin is reached through."""

    https: Proxy | None = None
    http: Proxy | None = None
    exempt: NoProxy = NoProxy()

    @classmethod
    def parse(
        cls, https_proxy: str | None, http_proxy: str | None, no_proxy: str | None
    ) -> ProxyRules:
        """From the settings' values; empty values mean no proxy."""
        https = (https_proxy or "").strip()
        http = (http_proxy or "").strip()
        return cls(
            Proxy.parse(https, "HTTPS_PROXY") if https else None,
            Proxy.parse(http, "HTTP_PROXY") if http else None,
            NoProxy.parse(no_proxy),
        )

    def proxy_for(self, origin: Origin) -> Proxy | None:
        proxy = self.https if origin.scheme == "https" else self.http
        if proxy is None or self.exempt.matches(origin.host, origin.port):
            return None
        return proxy
