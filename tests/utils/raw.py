"""HTTP at the byte level, for what ordinary clients cannot do: pipelining, half-closes,
slow or endless requests, exact response bytes."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

STATUS_RE = re.compile(rb"HTTP/1\.1 (\d{3}) ")


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or resets) the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> RawResponse:
    """One whole response with a Content-Length (the connection stays open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    (response,) = parse(head + b"\r\n\r\n" + body)
    return response


def exchange(port: int, data: bytes, *, half_close: bool = False, timeout: float = 10.0) -> bytes:
    """Send ``data``, optionally half-close, and read until the server closes."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def closed_within(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """What the server sent before closing ``sock``, and how long it took to close."""
    started = time.monotonic()
    sock.settimeout(seconds)
    data = read_all(sock)
    return data, time.monotonic() - started


def parse_head(head: bytes) -> RawResponse:
    """A response head (without the blank line), with an empty body."""
    lines = head.decode("latin-1").split("\r\n")
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:])
    ]
    return RawResponse(int(lines[0].split(" ")[1]), headers, b"")


def parse(reply: bytes) -> list[RawResponse]:
    """Responses with a Content-Length, one after another, as a client would read them."""
    out = []
    while reply:
        head, _, rest = reply.partition(b"\r\n\r\n")
        response = parse_head(head)
        length = int(response.header("content-length") or 0)
        response.body = rest[:length]
        out.append(response)
        reply = rest[length:]
    return out


def request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
