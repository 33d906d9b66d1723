"""Several fake OpenAI upstreams whose latency and failures a test controls while they run.

Each :class:`Member` is a real HTTP/1.1 server (asyncio, keep-alive, on its own port)
that answers ``POST …/chat/completions`` with an OpenAI ``chat.completion`` (or its
stream), after ``delay`` seconds, or with ``status`` (and ``retry_after``) instead
of 200. ``script`` is a list of statuses to answer first, one per request. Every
request is counted (``count``), so a test can say exactly what each upstream got.
The servers share one event loop, in a thread of their own.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from tests.utils.processes import free_port


@dataclass
class Member:
    name: str
    port: int = field(default_factory=free_port)
    delay: float = 0.0
    status: int = 200
    retry_after: int | None = None
    script: list[int] = field(default_factory=list)
    count: int = 0
    bodies: list[dict[str, object]] = field(default_factory=list)
    keep_bodies: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self.count = 0
        self.bodies.clear()

    async def _answer(self, body: bytes) -> bytes:
        self.count += 1
        request = json.loads(body) if body else {}
        if self.keep_bodies:
            self.bodies.append(request)
        status = self.script.pop(0) if self.script else self.status
        if self.delay:
            await asyncio.sleep(self.delay)
        if status != 200:
            payload = json.dumps({"error": {"message": f"{self.name} says {status}"}}).encode()
            extra = (
                b"retry-after: %d\r\n" % self.retry_after if self.retry_after is not None else b""
            )
            return _head(status, b"application/json", len(payload), extra) + payload
        text = f"from {self.name}"
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        if request.get("stream"):
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": request.get("model"),
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
            }
            last = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            tail = {**chunk, "choices": [], "usage": usage}
            events = b"".join(
                b"data: " + json.dumps(e).encode() + b"\n\n" for e in (chunk, last, tail)
            )
            events += b"data: [DONE]\n\n"
            return _head(200, b"text/event-stream", len(events)) + events
        payload = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": request.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        ).encode()
        return _head(200, b"application/json", len(payload)) + payload


def _head(status: int, kind: bytes, length: int, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n" % (
        status,
        kind,
        length,
        extra,
    )


async def _serve(
    member: Member, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            writer.write(await member._answer(body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    except asyncio.CancelledError:
        pass
    finally:
        writer.close()


@contextmanager
def fleet(*names: str) -> Iterator[dict[str, Member]]:
    """Start one member per name; stop them all at the end."""
    members = {name: Member(name) for name in names}
    loop = asyncio.new_event_loop()
    servers: list[asyncio.Server] = []

    async def start() -> None:
        for member in members.values():
            servers.append(
                await asyncio.start_server(partial(_serve, member), "127.0.0.1", member.port)
            )

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield members
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
