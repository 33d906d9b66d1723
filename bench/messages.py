"""POST /v1/messages: straight to a fake upstream, and through the gateway.

As bench/chat.py: the fake upstream (bench/fake_upstream.py, answering instantly
with a fixed Anthropic message, or a chat completion on /v1/chat/completions)
runs on core 0, the gateway on core 1, wrk beside the upstream on core 0 for
every measurement, the runs alternating between direct and through. Measured:

- a small request passed through to an Anthropic upstream (``bench/claude``):
  p50/p99 at 1 connection and the p50 added; requests/s at 16 connections and the
  ratio to direct;
- a 115 KB Claude-Code-shaped request (bench/claude_code.py) passed through: the
  p50 added at 1 connection;
- the same 115 KB request translated for an OpenAI-compatible upstream
  (``bench/model``). Its baseline is the upstream answering, directly, the chat
  completions request the gateway sends it (the translation, computed here with the
  gateway's own code: thinking blocks and ``$schema`` dropped, so about 100 KB), so
  the added p50 is what translating the request and the answer costs on top of
  relaying a body of that size.

With ``--source DIR`` a second gateway, from another checkout's ``src``, is measured
too. wrk reads each body from a file (``wrk.body`` in its Lua script).

    python bench/messages.py [--runs 3] [--duration 10] [--source ../earlier/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import fake_upstream
from chat import start
from claude_code import claude_code_request
from common import Run, arguments, median, require, stop, wrk

UPSTREAM_PORT, GATEWAY_PORT = 18511, 18512
SMALL = (
    b'{"model":"bench/claude","max_tokens":1024,'
    b'"messages":[{"role":"user","content":"Hello there!"}]}'
)
LUA = """wrk.method = "POST"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["anthropic-beta"] = "claude-code-20250219,interleaved-thinking-2025-05-14"
"""


@dataclass(frozen=True)
class Case:
    """One request, as sent straight to the upstream and as sent to the gateway."""

    direct: tuple[str, Path]
    gateway: tuple[str, Path]


def translated(body: bytes) -> bytes:
    """The chat completions body the gateway sends an OpenAI-compatible upstream for ``body``."""
    from quantized.catalog.model import Cost, Model, Upstream
    from quantized.gateway.messages.request import parse_messages_request
    from quantized.gateway.messages.to_chat import chat_request
    from quantized.gateway.providers import PROVIDERS

    request = parse_messages_request(body, [])
    model = Model("bench/model", "Bench", Cost(1, 2, 0), supported_features=("tool_calls",))
    chat = chat_request(request, model)
    upstream = Upstream("openai", f"http://127.0.0.1:{UPSTREAM_PORT}/v1", "bench")
    return PROVIDERS["openai"].call(chat, upstream, "sk-bench").body


def scripts(tmp: Path) -> dict[str, Case]:
    """A Lua script per body (each body in a file of its own)."""

    def script(name: str, body: bytes) -> Path:
        (tmp / f"{name}.json").write_bytes(body)
        path = tmp / f"{name}.lua"
        path.write_text(LUA.format(body=tmp / f"{name}.json"))
        return path

    messages = "/v1/messages"
    small = script("small", SMALL)
    big = script("big", claude_code_request("bench/claude"))
    big_openai = claude_code_request("bench/model")
    chat = script("chat", translated(big_openai))
    return {
        "small": Case((messages, small), (messages, small)),
        "115 KB": Case((messages, big), (messages, big)),
        "115 KB translated": Case(
            ("/v1/chat/completions", chat), (messages, script("big-openai", big_openai))
        ),
    }


@dataclass(frozen=True)
class Target:
    port: int
    key: str
    pid: int | None = None
    """The gateway's process, whose CPU time is read around each run."""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    cases: dict[str, Case],
    targets: dict[str, Target],
    args: argparse.Namespace,
    plan: Sequence[tuple[str, int]] | None = None,
) -> tuple[dict[str, list[Run]], dict[str, list[float]]]:
    """Each (case, connections) of ``plan`` — by default every case at 1 connection and the
    small one at 16 too — targets alternating each run; and the gateway's CPU time per
    request in each run, in microseconds."""
    results: dict[str, list[Run]] = {}
    cpu: dict[str, list[float]] = {}
    plan = plan or [(name, 1) for name in cases] + [("small", 16)]
    for _ in range(args.runs):
        for name, connections in plan:
            for target, where in targets.items():
                path, script = getattr(cases[name], "direct" if target == "direct" else "gateway")
                url = f"http://127.0.0.1:{where.port}{path}"
                before = cpu_seconds(where.pid) if where.pid else 0.0
                run = wrk(url, where.key, args.duration, connections, script=script, core="0")
                label = f"{target} {name} {connections}"
                results.setdefault(label, []).append(run)
                if where.pid:
                    spent = cpu_seconds(where.pid) - before
                    cpu.setdefault(label, []).append(spent / (run.rps * args.duration) * 1e6)
    return results, cpu


@contextmanager
def serving(
    tmp: Path, source: Path | None, upstream_port: int, gateway_port: int, **catalog: bool
) -> Iterator[dict[str, Target]]:
    """The fake upstream and a gateway (with ``source`` a second one, from that ``src``), each
    gateway with the fake's catalog (``catalog``: the models beside ``bench/model``), as
    targets: ``direct``, ``gateway`` and ``--source``; all stopped on leaving."""
    gateways: dict[str, tuple[Popen[str], str, int]] = {}
    upstream = fake_upstream.start(upstream_port)
    try:
        sources = {"gateway": None, "--source": source} if source else {"gateway": None}
        for offset, (name, src) in enumerate(sources.items()):
            work = tmp / name.strip("-")
            work.mkdir()
            catalog_file = fake_upstream.write_catalog(
                work / "catalog.json", upstream_port, **catalog
            )
            gateway, key = start(work, gateway_port + offset, catalog_file, src)
            gateways[name] = (gateway, key, gateway_port + offset)
        targets = {"direct": Target(upstream_port, gateways["gateway"][1])}
        for name, (gateway, key, port) in gateways.items():
            targets[name] = Target(port, key, gateway.pid)
        yield targets
    finally:
        for gateway, _, _ in gateways.values():
            stop(gateway)
        fake_upstream.stop(upstream)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    with tempfile.TemporaryDirectory(prefix="quantized-messages-") as tmp:
        cases = scripts(Path(tmp))
        with serving(
            Path(tmp), args.source, UPSTREAM_PORT, GATEWAY_PORT, anthropic=True
        ) as targets:
            results, cpu = measure(cases, targets, args)
    report(results, cpu, [name for name in targets if name != "direct"])


def report(results: dict[str, list[Run]], cpu: dict[str, list[float]], names: list[str]) -> None:
    def p50(key: str) -> float:
        return median(results[key], "p50_ms")

    direct_rps = median(results["direct small 16"], "rps")
    print(
        f"direct: small p50 {p50('direct small 1'):.3f} ms, {direct_rps:.0f} req/s at 16; "
        f"115 KB p50 {p50('direct 115 KB 1'):.3f} ms; "
        f"its translation to chat p50 {p50('direct 115 KB translated 1'):.3f} ms"
    )
    for name in names:
        print(f"{name}:")
        for case, target in (("small", 0.3), ("115 KB", 1.0), ("115 KB translated", 1.0)):
            one = results[f"{name} {case} 1"]
            added = median(one, "p50_ms") - p50(f"direct {case} 1")
            print(
                f"  {case}, 1 connection: p50 {median(one, 'p50_ms'):.3f} ms "
                f"(p99 {median(one, 'p99_ms'):.3f}) -> added {added:.3f} ms"
                f"  (target <= {target} ms); gateway CPU "
                f"{statistics.median(cpu[f'{name} {case} 1']):.0f} us a request"
            )
        rps = median(results[f"{name} small 16"], "rps")
        print(
            f"  small, 16 connections: {rps:.0f} req/s -> {rps / direct_rps:.2f} of direct"
            f"  (target >= 0.35); gateway CPU "
            f"{statistics.median(cpu[f'{name} small 16']):.0f} us a request"
        )


if __name__ == "__main__":
    main()
