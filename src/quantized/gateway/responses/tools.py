"""Responses API tools as chat completions functions, and their calls' names on the way back.

- ``function`` tools become functions (``strict`` kept when it is ``true``);
- ``custom`` tools take free text, or text that follows a grammar (Codex's
  ``apply_patch`` takes a Lark grammar): each becomes a function of one required
  string parameter ``input`` whose description carries the grammar, so the model
  can follow it; the call's ``{"input": …}`` is answered as the text itself;
- ``namespace`` tools are flattened: each function (or custom tool) in one is named
  ``<namespace>__<name>``, as Codex names them where the split cannot be kept, and
  its calls are answered with ``name`` and ``namespace`` apart again;
- chat names follow ``^[a-zA-Z0-9_-]{1,64}$``: any other character becomes ``_``
  and a longer name is cut and ends with a hash of the whole, so it stays the
  same from one request to the next (and the upstream's prompt cache holds);
- hosted tools (``web_search``, ``file_search``, ``tool_search``, ``mcp``, …) run
  only on OpenAI's side: they are dropped and named in :attr:`ChatTools.dropped`,
  unless ``tool_choice`` requires one, which is a 400;
- ``tool_choice``: ``auto``, ``none`` and ``required`` as they are, a named
  function or custom tool as the function it became; ``allowed_tools`` keeps only
  the tools it allows (a chat upstream may not know OpenAI's own form of it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from quantized.errors import InvalidRequestError

NAME_MAX = 64
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_NO_PARAMETERS = {"type": "object", "properties": {}}


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool as the client declared it: how a call of it is answered."""

    kind: str
    """``function`` or ``custom``."""
    name: str
    namespace: str | None = None


def flat_name(name: str, namespace: str | None = None) -> str:
    """The chat name of a tool: ``namespace__name`` (underscores around the join trimmed,
    as Codex does), within chat's rule."""
    joined = f"{namespace.rstrip('_')}__{name.lstrip('_')}" if namespace else name
    found = _NOT_NAME.sub("_", joined)
    return found if found and len(found) <= NAME_MAX else _hashed(found, joined)


def _hashed(name: str, key: str) -> str:
    """``name`` cut to end in a hash of ``key``, within chat's rule."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{name[: NAME_MAX - 9]}_{digest}"


class ToolNames:
    """The chat name of each client tool, and the client tool of each chat name."""

    def __init__(self) -> None:
        self._client: dict[str, ClientTool] = {}
        self._chat: dict[tuple[str | None, str], str] = {}

    def add(self, tool: ClientTool) -> str:
        key = (tool.namespace, tool.name)
        if key in self._chat:
            return self._chat[key]
        name = flat_name(tool.name, tool.namespace)
        if name in self._client:  # another tool flattens to the same name
            name = _hashed(name, f"{tool.namespace}/{tool.name}")
        self._client[name] = tool
        self._chat[key] = name
        return name

    def find(self, name: str, namespace: str | None = None) -> str | None:
        """The chat name of a declared tool, or ``None``."""
        return self._chat.get((namespace, name))

    def chat_name(self, name: str, namespace: str | None = None) -> str:
        """The chat name of a tool called in the conversation, declared here or not."""
        return self.find(name, namespace) or flat_name(name, namespace)

    def client(self, chat_name: str) -> ClientTool:
        """The client tool a chat call names (a name the model made up: a function)."""
        return self._client.get(chat_name) or ClientTool("function", chat_name)


@dataclass(slots=True)
class ChatTools:
    tools: list[dict[str, Any]] = field(default_factory=list)
    names: ToolNames = field(default_factory=ToolNames)
    dropped: list[str] = field(default_factory=list)
    """The hosted tool types left out, each once."""
    choice: Any = None
    """The chat ``tool_choice``, or ``None`` to leave it out."""


def _input_description(tool: dict[str, Any]) -> str:
    found = tool.get("format")
    spec: dict[str, Any] = found if isinstance(found, dict) else {}
    definition = spec.get("definition")
    if spec.get("type") != "grammar" or not isinstance(definition, str):
        return "The tool's input, as free text."
    if spec.get("syntax") == "regex":
        return f"The tool's input: text that matches this regular expression:\n{definition}"
    return (
        "The tool's input: raw text (not JSON) that follows this Lark grammar exactly:\n"
        f"```lark\n{definition}\n```"
    )


def _description(tool: dict[str, Any], namespace: dict[str, Any] | None) -> str:
    text = str(tool.get("description") or "")
    if namespace is not None and namespace.get("description"):
        about = f"(One of the {namespace['name']} tools: {namespace['description']})"
        text = f"{text}\n\n{about}" if text else about
    return text


def _function(tool: dict[str, Any], chat: ChatTools, namespace: dict[str, Any] | None) -> None:
    kind, name = tool.get("type"), tool.get("name")
    if kind not in ("function", "custom") or not isinstance(name, str):
        return
    owner = str(namespace["name"]) if namespace is not None else None
    function: dict[str, Any] = {
        "name": chat.names.add(ClientTool(kind, name, owner)),
        "description": _description(tool, namespace),
    }
    if kind == "custom":
        text = {"type": "string", "description": _input_description(tool)}
        function["parameters"] = {
            "type": "object",
            "properties": {"input": text},
            "required": ["input"],
            "additionalProperties": False,
        }
    else:
        function["parameters"] = tool.get("parameters") or _NO_PARAMETERS
        if tool.get("strict") is True:
            function["strict"] = True
    chat.tools.append({"type": "function", "function": function})


def _add(tool: Any, chat: ChatTools) -> None:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind == "namespace" and isinstance(tool.get("name"), str):
        for inner in tool.get("tools") or ():
            if isinstance(inner, dict):
                _function(inner, chat, tool)
    elif kind in ("function", "custom"):
        _function(tool, chat, None)
    elif isinstance(kind, str) and kind not in chat.dropped:
        chat.dropped.append(kind)


def _refused(what: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"tool_choice {what}: this model's upstream runs only function and custom tools",
        param="tool_choice",
    )


def _chosen(choice: dict[str, Any], chat: ChatTools) -> str:
    name, namespace = choice.get("name"), choice.get("namespace")
    found = chat.names.find(str(name), namespace if isinstance(namespace, str) else None)
    if found is None:
        raise InvalidRequestError(
            f"tool_choice names {name!r}, which is not among the tools", param="tool_choice"
        )
    return found


def _choice(choice: Any, chat: ChatTools) -> Any:
    if choice is None or choice in ("auto", "none"):
        return choice
    if choice == "required":
        if not chat.tools:
            raise _refused("is required, but every tool is a hosted one")
        return choice
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in ("function", "custom"):
        return {"type": "function", "function": {"name": _chosen(choice, chat)}}
    if kind == "allowed_tools":
        allowed = {
            chat.names.find(str(tool.get("name")), tool.get("namespace"))
            for tool in choice.get("tools") or ()
            if isinstance(tool, dict) and tool.get("type") in ("function", "custom")
        }
        chat.tools = [t for t in chat.tools if t["function"]["name"] in allowed]
        mode = "required" if choice.get("mode") == "required" else "auto"
        if mode == "required" and not chat.tools:
            raise _refused("requires hosted tools only")
        return mode
    raise _refused(f"asks for the hosted tool {kind!r}")


def chat_tools(declared: list[Any], choice: Any) -> ChatTools:
    """The chat tools for the tools a request declares (``tools`` and ``additional_tools``
    items) and its ``tool_choice``."""
    chat = ChatTools()
    for tool in declared:
        _add(tool, chat)
    chat.choice = _choice(choice, chat)
    return chat
