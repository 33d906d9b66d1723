"""A gateway behind an egress proxy: HTTP_PROXY (unprefixed, as curl reads it) is used."""

from __future__ import annotations

from pathlib import Path

from tests.utils.forward_proxy import ForwardProxy
from tests.utils.stacks import start_stack

USER = {"role": "user", "content": "hi"}


def test_upstream_calls_go_through_the_configured_proxy(tmp_path: Path) -> None:
    with ForwardProxy() as proxy:
        stack = start_stack(tmp_path, HTTP_PROXY=proxy.url())
        try:
            with stack.client() as client:
                response = client.post(
                    "/v1/chat/completions", json={"model": "fake/gpt", "messages": [USER]}
                )
            assert response.status_code == 200, response.text
            assert response.json()["choices"][0]["message"]["content"] == "echo: hi"
        finally:
            stack.gateway.stop()
            stack.upstream.stop()
    target = f"http://127.0.0.1:{stack.upstream.port}/v1/chat/completions"
    assert [(seen.method, seen.target) for seen in proxy.seen] == [("POST", target)]
    assert [seen.path for seen in stack.upstream.seen] == [target]  # relayed as it came
