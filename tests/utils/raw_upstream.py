"""A hand-written HTTP/1.1 server for the upstream client's tests: it does what the path says.

Unlike tests/utils/upstreams.py (a well-behaved provider), this one misbehaves on
demand, on plain sockets, and counts what it saw. Paths (origin- or absolute-form):

- ``/ok``: 200, ``content-length`` body ``ok``; ``/chunked``: 200, chunks ``a``, ``bb``, ``ccc``;
- ``/length``: 200, the number of request body bytes received;
- ``/big/N``: N bytes of ``x`` (``/big-chunked/N``: the same, chunked by 64 KiB);
- ``/until-eof``: a body without length, ended by closing the connection;
- ``/continue``: ``100 Continue`` first, then 200 ``ok``;
- ``/drop``: read the whole request, then close without answering;
- ``/hold``: answer 200 ``held`` once the test calls :meth:`RawUpstream.release`;
- ``/silent``: read the request, never answer.

Connections are kept alive; with ``idle_timeout`` the server closes those that
stay idle that long (as uvicorn, nginx and providers do), counted in ``idle_closed``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from types import TracebackType

from tests.utils.processes import free_port


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    """Which accepted connection (1, 2, …) carried it."""


def read_head(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """Bytes up to the blank line (consumed from ``buffer``); None at end of stream."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end])
    del buffer[: end + 4]
    return head


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


@dataclass(repr=False)
class RawUpstream:
    tls: ssl.SSLContext | None = None
    idle_timeout: float | None = None
    port: int = field(default_factory=free_port)
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    open: int = 0
    max_open: int = 0
    idle_closed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _held: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    _stopped: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def release(self, count: int = 1) -> None:
        """Let ``count`` held requests be answered."""
        for _ in range(count):
            self._held.release()

    def __enter__(self) -> RawUpstream:
        listener = socket.create_server(("127.0.0.1", self.port), backlog=64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()
        self.release(1000)
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
                sock, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open += 1
                self.max_open = max(self.max_open, self.open)
                number = self.connections
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self._sockets.append(sock)
            buffer = bytearray()
            while self._exchange(sock, number, buffer):
                pass
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            with self._lock:
                self.open -= 1

    def _exchange(self, sock: socket.socket, number: int, buffer: bytearray) -> bool:
        """Serve one request; False when the connection is done."""
        sock.settimeout(self.idle_timeout if not buffer else None)
        try:
            head = read_head(sock, buffer)
        except TimeoutError:
            with self._lock:
                self.idle_closed += 1
            return False
        sock.settimeout(None)
        if head is None:
            return False
        method, target, headers = parse_head(head)
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            data = sock.recv(65536)
            if not data:
                return False
            buffer += data
        body = bytes(buffer[:length])
        del buffer[:length]
        with self._lock:
            self.requests.append(RawRequest(method, target, headers, body, number))
        path = "/" + target.split("://", 1)[-1].split("/", 1)[-1] if "://" in target else target
        return self._answer(sock, path, body)

    def _answer(self, sock: socket.socket, path: str, body: bytes) -> bool:
        if path == "/drop":
            return False
        if path == "/silent":
            self._stopped.wait()
            return False
        if path == "/hold":
            self._held.acquire()
            sock.sendall(_response(b"held"))
        elif path == "/chunked":
            head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            sock.sendall(head + b"1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n")
        elif path == "/length":
            sock.sendall(_response(b"%d" % len(body)))
        elif path.startswith("/big/"):
            sock.sendall(_response(b"x" * int(path.rsplit("/", 1)[1])))
        elif path.startswith("/big-chunked/"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            left = int(path.rsplit("/", 1)[1])
            while left:
                size = min(left, 65536)
                sock.sendall(b"%x\r\n%s\r\n" % (size, b"x" * size))
                left -= size
            sock.sendall(b"0\r\n\r\n")
        elif path == "/until-eof":
            sock.sendall(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
            return False
        elif path == "/continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" + _response(b"ok"))
        else:
            sock.sendall(_response(b"ok"))
        return True


def _response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n"
    return head % (status, len(body)) + body
