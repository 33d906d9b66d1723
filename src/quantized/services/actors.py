"""Who is making an administrative change, for the audit log."""

from __future__ import annotations

import getpass
import socket

from quantized.auth.principal import Principal
from quantized.store.audit import Actor


def actor_of(principal: Principal) -> Actor:
    return Actor(kind=principal.kind, id=principal.id, name=principal.name)


def cli_actor() -> Actor:
    """The operator running the CLI: their login name on this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(kind="cli", id=f"{user}@{socket.gethostname()}", name=user)
