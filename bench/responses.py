"""POST /v1/responses: straight to a fake upstream, and through the gateway.

As bench/messages.py: the fake upstream (bench/fake_upstream.py, answering instantly
with a fixed Responses API ``response``, or a chat completion on
/v1/chat/completions) runs on core 0, the gateway on core 1, wrk beside the upstream
on core 0 for every measurement, the runs alternating between direct and through.
Measured:

- a small request passed through to an upstream serving the Responses API
  (``bench/native``, ``responses: true`` in the catalog): p50/p99 at 1 connection and
  the p50 added; requests/s at 16 connections and the ratio to direct;
- the request Codex CLI 0.171 sent (tests/fixtures/codex_recorded_request.json: 38 KB
  as sent, ten tools, the Codex system prompt), not streamed, passed through: the p50
  added at 1 connection;
- the same request for a chat-completions upstream (``bench/model``): the gateway
  translates it into chat completions and the answer back into a response. Its
  baseline is the upstream answering, directly, the chat completions request the
  gateway sends it (computed here with the gateway's own code: the two hosted tools
  dropped, the custom tool a function: 36 KB), so the added p50 is what
  translating the request and the answer costs on top of relaying a body of that
  size.

Every body is sent once through the gateway first, to check it is answered as
intended (passed through: the fake's own response; translated: a response the
gateway made). With ``--source DIR`` a second gateway, from another checkout's
``src``, is measured too. It takes about ``runs x 8 x duration`` seconds
(``--source DIR``: ``runs x 12 x duration``).

    python bench/responses.py [--runs 3] [--duration 10] [--source ../earlier/src]
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import httpx
import orjson

from common import Run, arguments, median, require
from messages import Case, Target, measure, serving

UPSTREAM_PORT, GATEWAY_PORT = 18531, 18532
SMALL = b'{"model":"bench/native","input":"Hello there!","store":false}'
"""Not stored (as Codex sends it): a stored response costs a database write, measured apart."""
RECORDED = Path(__file__).resolve().parents[1] / "tests/fixtures/codex_recorded_request.json"
PATH = "/v1/responses"
LUA = """wrk.method = "POST"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""
CASES = (("small", 0.3), ("40 KB", None), ("40 KB translated", 1.0))
"""Each case measured at 1 connection, and the p50 the issue allows it to add (ms)."""


def codex_request(model: str) -> bytes:
    """The recorded Codex request, not streamed, for ``model``, as compact as Codex sends it."""
    body = orjson.loads(RECORDED.read_bytes())
    return orjson.dumps({**body, "model": model, "stream": False})


def translated(body: bytes) -> bytes:
    """The chat completions body the gateway sends ``bench/model``'s upstream for ``body``."""
    from quantized.catalog.model import Cost, Model, Upstream
    from quantized.gateway.providers import PROVIDERS
    from quantized.gateway.responses.request import parse_responses_request
    from quantized.gateway.responses.to_chat import translate

    request = parse_responses_request(body)
    model = Model("bench/model", "Bench", Cost(1, 2, 0), supported_features=("tool_calls",))
    translation = translate(request, model)
    upstream = Upstream("openai", f"http://127.0.0.1:{UPSTREAM_PORT}/v1", "bench")
    return PROVIDERS["openai"].call(translation.chat, upstream, "sk-bench").body


def scripts(tmp: Path) -> tuple[dict[str, Case], dict[str, bytes]]:
    """A Lua script per body (each body in a file of its own); and the body of each case, as
    sent to the gateway."""

    def script(name: str, body: bytes) -> Path:
        (tmp / f"{name}.json").write_bytes(body)
        path = tmp / f"{name}.lua"
        path.write_text(LUA.format(body=tmp / f"{name}.json"))
        return path

    native, chat = codex_request("bench/native"), codex_request("bench/model")
    small, big = script("small", SMALL), script("big", native)
    cases = {
        "small": Case((PATH, small), (PATH, small)),
        "40 KB": Case((PATH, big), (PATH, big)),
        "40 KB translated": Case(
            ("/v1/chat/completions", script("chat", translated(chat))),
            (PATH, script("big-chat", chat)),
        ),
    }
    return cases, {"small": SMALL, "40 KB": native, "40 KB translated": chat}


def check(bodies: dict[str, bytes], targets: dict[str, Target]) -> None:
    """Each body once through each gateway: the fake's response passed through as it is, or a
    response the gateway made from the fake's chat completion."""
    for name, where in targets.items():
        if name == "direct":
            continue
        for case, body in bodies.items():
            answer = httpx.post(
                f"http://127.0.0.1:{where.port}{PATH}",
                content=body,
                headers={"Authorization": f"Bearer {where.key}"},
                timeout=10,
            )
            found = answer.json() if answer.status_code == 200 else {}
            passed = found.get("id") == "resp_bench"
            made = found.get("object") == "response" and not passed
            if not (passed if case != "40 KB translated" else made):
                raise SystemExit(f"{name}, {case}: unexpected answer {answer.status_code}")


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    require("wrk", "taskset")
    with tempfile.TemporaryDirectory(prefix="quantized-responses-") as tmp:
        cases, bodies = scripts(Path(tmp))
        with serving(
            Path(tmp), args.source, UPSTREAM_PORT, GATEWAY_PORT, responses=True
        ) as targets:
            check(bodies, targets)
            results, cpu = measure(cases, targets, args)
    report(results, cpu, [name for name in targets if name != "direct"])


def report(results: dict[str, list[Run]], cpu: dict[str, list[float]], names: list[str]) -> None:
    def p50(key: str) -> float:
        return median(results[key], "p50_ms")

    direct_rps = median(results["direct small 16"], "rps")
    print(
        f"direct: small p50 {p50('direct small 1'):.3f} ms, {direct_rps:.0f} req/s at 16; "
        f"40 KB p50 {p50('direct 40 KB 1'):.3f} ms; "
        f"its translation to chat p50 {p50('direct 40 KB translated 1'):.3f} ms"
    )
    for name in names:
        print(f"{name}:")
        for case, target in CASES:
            one = results[f"{name} {case} 1"]
            added = median(one, "p50_ms") - p50(f"direct {case} 1")
            allowed = f"  (target <= {target} ms)" if target else ""
            print(
                f"  {case}, 1 connection: p50 {median(one, 'p50_ms'):.3f} ms "
                f"(p99 {median(one, 'p99_ms'):.3f}) -> added {added:.3f} ms{allowed}; "
                f"gateway CPU {statistics.median(cpu[f'{name} {case} 1']):.0f} us a request"
            )
        rps = median(results[f"{name} small 16"], "rps")
        print(
            f"  small, 16 connections: {rps:.0f} req/s -> {rps / direct_rps:.2f} of direct; "
            f"gateway CPU {statistics.median(cpu[f'{name} small 16']):.0f} us a request"
        )


if __name__ == "__main__":
    main()
