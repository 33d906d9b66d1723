"""Where a request goes: an upstream URL as its origin and its request target."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from quantized.errors import ConfigurationError

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    """Lower-case name, or IP address (IPv6 without brackets)."""
    port: int

    @property
    def hostport(self) -> str:
        """``host:port`` as a CONNECT target or in messages (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def authority(self) -> bytes:
        """The ``Host`` header: the port only when it is not the scheme's default."""
        if self.port == DEFAULT_PORTS[self.scheme]:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return host.encode("idna")
        return self.hostport.encode("idna")


def split_url(url: str) -> tuple[Origin, str]:
    """An absolute http(s) URL as its origin and its path (with query)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"invalid upstream URL {url!r}") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(f"invalid upstream URL {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Origin(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]), path
