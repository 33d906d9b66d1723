"""A Claude-Code-shaped Messages request of about 115 KB, the same bytes on every run.

Its shape is what Claude Code sends after a few turns of work (compare the recorded
first turn in ``tests/fixtures/claude_code_request.json``): a system of three text
blocks (the last two with ``cache_control``), 24 tools whose JSON schemas carry
``$schema`` and ``additionalProperties: false``, a history of turns with ``thinking``
blocks (with signatures), ``tool_use`` and ``tool_result`` blocks, ``metadata.user_id``
as a JSON string, extended thinking with a budget, and ``max_tokens`` 32000. The text
is drawn from a seeded generator, so the size and the bytes never change.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

SIZE = 115_000
"""Turns are added until the body is at least this many bytes."""
_WORDS = (
    "the file function returns value test config request module error path line "
    "gateway upstream model token stream should when before after check read write "
    "because this that with from into each every cache index body header answer"
).split()
_TOOLS = (
    "Agent Bash Glob Grep Read Edit Write NotebookEdit WebFetch WebSearch TodoWrite "
    "TaskCreate TaskGet TaskList TaskOutput TaskStop TaskUpdate Skill SendMessage "
    "CronCreate CronDelete CronList EnterWorktree ExitWorktree"
).split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _code(rng: random.Random, lines: int) -> str:
    """Numbered source lines, as the Read tool returns them (quotes and tabs to escape)."""
    return "\n".join(
        f'{n:>6}\t    {rng.choice(_WORDS)} = "{_text(rng, 6)}"  # {_text(rng, 4)}'
        for n in range(1, lines + 1)
    )


def _schema(rng: random.Random) -> dict[str, Any]:
    names = rng.sample(_WORDS, 4)
    properties = {
        name: {"type": "string", "description": _text(rng, 25).capitalize() + "."} for name in names
    }
    properties[names[-1]] = {"type": "integer", "minimum": 0, "description": _text(rng, 12)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": names[:2],
        "additionalProperties": False,
    }


def _tools(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {"name": name, "description": _text(rng, 260), "input_schema": _schema(rng)}
        for name in _TOOLS
    ]


def _system(rng: random.Random) -> list[dict[str, Any]]:
    cached = {"type": "ephemeral"}
    billing = "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=cli;"
    identity = "You are Claude Code, Anthropic's official CLI for Claude."
    return [
        {"type": "text", "text": billing},
        {"type": "text", "text": identity, "cache_control": cached},
        {"type": "text", "text": _text(rng, 1200), "cache_control": cached},
    ]


def _turn(rng: random.Random, index: int) -> list[dict[str, Any]]:
    """An assistant turn (thinking, text, a tool call) and the user's tool result."""
    call = f"toolu_{index:024d}"
    signature = base64.b64encode(rng.randbytes(300)).decode()
    read = {"file_path": f"/src/m{index}.py"}
    assistant = [
        {"type": "thinking", "thinking": _text(rng, 120), "signature": signature},
        {"type": "text", "text": _text(rng, 30)},
        {"type": "tool_use", "id": call, "name": "Read", "input": read},
    ]
    result = {"type": "tool_result", "tool_use_id": call, "content": _code(rng, 40)}
    return [{"role": "assistant", "content": assistant}, {"role": "user", "content": [result]}]


def claude_code_request(model: str, size: int = SIZE) -> bytes:
    """The request for ``model``, at least ``size`` bytes (compact JSON, as Claude Code sends)."""
    rng = random.Random(115)  # noqa: S311 (filler text, not secrets)
    user_id = {"device_id": "0" * 64, "account_uuid": "", "session_id": "0" * 8}
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": _text(rng, 60)}]}],
        "system": _system(rng),
        "tools": _tools(rng),
        "metadata": {"user_id": json.dumps(user_id, separators=(",", ":"))},
        "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
    }
    index = 0
    while len(_dumps(body)) < size:
        body["messages"] += _turn(rng, index)
        index += 1
    last = body["messages"][-1]["content"]
    last.append({"type": "text", "text": "Go on.", "cache_control": {"type": "ephemeral"}})
    return _dumps(body)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
