"""Faults on real connections: a TCP proxy that can be cut or frozen, a port where connecting
hangs, a Redis server of our own."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.utils.processes import free_port, wait_until
from tests.utils.tls import TlsFiles


@dataclass
class TcpProxy:
    """Forwards 127.0.0.1:port to a target; :meth:`cut` drops everything, :meth:`start` heals.

    :meth:`freeze` makes the target look alive but silent (a server that stops answering):
    connections stay open and new ones are accepted, but nothing is forwarded either way
    until :meth:`thaw`.
    """

    target_port: int
    port: int = field(default_factory=free_port)
    frozen: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def freeze(self) -> None:
        self.frozen.set()

    def thaw(self) -> None:
        self.frozen.clear()

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            while self.frozen.is_set() and self._listener is listener:
                threading.Event().wait(0.05)  # hold the new connection, unanswered
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                if self.frozen.is_set():
                    threading.Event().wait(0.05)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    peers[source].sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._sockets.clear()


@contextlib.contextmanager
def hanging_port() -> Iterator[int]:
    """A port that listens but never accepts, its backlog full: new connections hang.

    With a backlog of 0 Linux queues one connection (taken here); it drops the SYNs
    of the next ones, so their connect neither succeeds nor fails until a timeout.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname(), timeout=5):
            yield int(listener.getsockname()[1])


@dataclass
class SilentServer:
    """Accepts connections and never answers (a Redis that hangs); counts the connections."""

    port: int = field(default_factory=free_port)
    accepted: int = 0
    _listener: socket.socket | None = None
    _held: list[socket.socket] = field(default_factory=list)

    def start(self) -> SilentServer:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            self._held.append(connection)
            self.accepted += 1

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for connection in self._held:
            connection.close()


@dataclass
class RedisServer:
    """A redis-server of the test's own, on a free port (the shared one stays untouched).

    With ``unixsocket`` it also listens on that socket; with ``tls`` its port speaks only
    TLS (client certificates optional); ``password`` sets ``requirepass``.
    """

    port: int = field(default_factory=free_port)
    unixsocket: Path | None = None
    tls: TlsFiles | None = None
    tls_auth_clients: str = "optional"
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        if self.tls is None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls.ca}"

    def unix_url(self, db: int = 0) -> str:
        assert self.unixsocket is not None
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"unix://{auth}{self.unixsocket}?db={db}"

    def start(self) -> RedisServer:
        options = ["--save", "", "--appendonly", "no"]
        if self.tls is None:
            options += ["--bind", "127.0.0.1", "--port", str(self.port)]
        else:  # also on 127.0.0.2, a name its certificate does not have
            options += [
                "--bind", "127.0.0.1", "127.0.0.2",
                "--port", "0",
                "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls.server_cert),
                "--tls-key-file", str(self.tls.server_key),
                "--tls-ca-cert-file", str(self.tls.ca),
                "--tls-auth-clients", self.tls_auth_clients,
            ]  # fmt: skip
        if self.unixsocket is not None:
            options += ["--unixsocket", str(self.unixsocket), "--unixsocketperm", "700"]
        if self.password is not None:
            options += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            ["redis-server", *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._answers, timeout=10)
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError("redis-server exited at start")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                sock = raw
                if self.tls is not None:
                    context = ssl.create_default_context(cafile=str(self.tls.ca))
                    context.load_cert_chain(self.tls.client_cert, self.tls.client_key)
                    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One command over a plain connection (the unix socket for a TLS server)."""
        payload = b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)
        family, address = socket.AF_INET, ("127.0.0.1", self.port)
        if self.tls is not None:
            assert self.unixsocket is not None, "give a TLS server a unix socket to command it"
            family, address = socket.AF_UNIX, str(self.unixsocket)  # type: ignore[assignment]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(address)
            if self.password:
                auth = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (
                    len(self.password),
                    self.password.encode(),
                )
                sock.sendall(auth)
                assert sock.recv(64).startswith(b"+OK")
            sock.sendall(b"*%d\r\n" % len(args) + payload)
            return sock.recv(65536)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
