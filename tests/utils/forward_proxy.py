"""A forward HTTP proxy for tests: ``CONNECT`` tunnels and absolute-form requests, recorded.

Plain sockets and threads. The first request head of each connection is kept in
``seen`` (later requests on it are relayed as they are), and every byte a client
sent inside a ``CONNECT`` tunnel in ``tunnelled``, so a test can check that nothing
but TLS crossed it. ``credentials`` makes it demand ``Proxy-Authorization: Basic``
(407 otherwise); ``refuse`` answers every request with that status.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

from tests.utils.processes import free_port
from tests.utils.raw_upstream import parse_head, read_head


@dataclass(frozen=True)
class ProxySeen:
    method: str
    target: str
    headers: dict[str, str]


@dataclass(repr=False)
class ForwardProxy:
    credentials: tuple[str, str] | None = None
    refuse: int | None = None
    port: int = field(default_factory=free_port)
    seen: list[ProxySeen] = field(default_factory=list)
    tunnelled: bytearray = field(default_factory=bytearray)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> ForwardProxy:
        listener = socket.create_server(("127.0.0.1", self.port), backlog=64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            buffer = bytearray()
            head = read_head(client, buffer)
            if head is None:
                return
            method, target, headers = parse_head(head)
            with self._lock:
                self.seen.append(ProxySeen(method, target, headers))
            status = self._refusal(headers)
            if status:
                client.sendall(
                    b'HTTP/1.1 %d Refused\r\nproxy-authenticate: Basic realm="test"\r\n'
                    b"content-length: 0\r\nconnection: close\r\n\r\n" % status
                )
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host.strip("[]"), int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream, bytes(buffer), record=True)
            else:
                parts = urlsplit(target)
                upstream = socket.create_connection((parts.hostname or "", parts.port or 80))
                upstream.sendall(head + b"\r\n\r\n")
                self._pipe(client, upstream, bytes(buffer), record=False)
        except (OSError, ValueError):  # ValueError: a socket closed by __exit__ meanwhile
            return
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _refusal(self, headers: dict[str, str]) -> int:
        if self.refuse is not None:
            return self.refuse
        if self.credentials is not None:
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            if headers.get("proxy-authorization") != f"Basic {expected}":
                return 407
        return 0

    def _pipe(
        self, client: socket.socket, upstream: socket.socket, pending: bytes, record: bool
    ) -> None:
        """Relay both ways until either side closes (``pending``: client bytes already read)."""
        with self._lock:
            self._sockets.append(upstream)
        if pending:
            upstream.sendall(pending)
            if record:
                self._record(pending)
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 1.0)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
                    if record and source is client:
                        self._record(data)
        finally:
            with contextlib.suppress(OSError):
                upstream.close()

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.tunnelled += data
