"""How many client connections a process can hold: from its file descriptor limit.

Every connection is a file descriptor; so are the database, Redis and upstream
connections and the files a process opens. When the descriptors run out the
kernel still accepts connections into the listen queue, and they wait there,
unanswered. So the server raises its soft limit to the hard one at start, and,
unless ``max_connections`` says otherwise, serves at most the limit minus a
reserve (a quarter of it, at most 1024, at least 32), answering 503 past it.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("quantized.server")


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard limit; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit to %d: %s", target, exc)
    return soft


def connection_capacity(configured: int) -> int:
    """``configured`` if set, else the descriptor limit minus a reserve."""
    if configured:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    reserve = min(1024, max(32, soft // 4))
    return max(16, soft - reserve)
