"""The order in which a request tries a model's upstreams.

Upstreams are grouped in tiers (``tier``, lowest first); a request tries every
upstream of its tier before it falls to the next. Within a tier the model's
``routing`` strategy orders them:

- ``ordered``: catalog order (the next one only when the first fails);
- ``weighted``: random, in proportion to ``weight`` (weighted sampling without
  replacement, so the fallbacks are weighted too; weight 0 comes last);
- ``least_inflight``: fewest requests in flight from this process first (ties at random);
- ``latency``: lowest recent time to first answer first (an exponentially weighted
  moving average of this process's own measurements; an upstream not measured yet
  goes first, and one request in twenty explores a random order so a slow upstream
  that recovered is seen again).

The state this reads (:class:`Stats`: requests in flight, latency) is each
process's own: health and quotas are what is shared between instances.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from quantized.catalog.model import Upstream
from quantized.errors import QuantizedError

EXPLORE = 0.05
"""The share of ``latency`` requests that try a random order."""
ALPHA = 0.3
"""The weight of the newest measurement in the latency average."""


def location(upstream: Upstream) -> str:
    """Where an upstream is, for logs, the ledger and metrics: ``provider base_url model``,
    the base URL without credentials (``user:password@``) or query, which may hold secrets."""
    parts = urlsplit(upstream.base_url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    base = f"{parts.scheme}://{host}{port}{parts.path}"
    return f"{upstream.provider} {base} {upstream.model}"[:300]


def upstream_id(upstream: Upstream) -> str:
    """A stable id of the deployment an upstream is (its location, and the key it is called
    with): what health, quotas and the admin API know it by. Two catalog entries that send
    to the same deployment with the same key share it."""
    identity = "\x00".join(
        (
            upstream.provider,
            upstream.base_url,
            upstream.model,
            upstream.api_key_env or "",
            upstream.api_version or "",
            upstream.region or "",
            upstream.auth or "",
        )
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


@dataclass(slots=True)
class Stats:
    """What this process saw of one upstream."""

    inflight: int = 0
    latency: float | None = None
    """Seconds to the first answer, averaged (``None``: not measured yet)."""
    served: int = 0
    failed: int = 0
    last_failure: QuantizedError | None = None
    """How the last request that failed here failed (what a request skipping it is told)."""

    def measured(self, seconds: float) -> None:
        latency = self.latency
        self.latency = seconds if latency is None else latency + ALPHA * (seconds - latency)


@dataclass(slots=True, eq=False)
class Target:
    """One upstream of a model, with its identity and this process's stats of it."""

    upstream: Upstream
    id: str
    name: str
    label: str
    stats: Stats = field(default_factory=Stats)

    @classmethod
    def of(cls, upstream: Upstream, stats: dict[str, Stats]) -> Target:
        uid = upstream_id(upstream)
        name = upstream.name or f"{upstream.provider}-{uid[:8]}"
        return cls(upstream, uid, name, location(upstream), stats.setdefault(uid, Stats()))


def plan(targets: list[Target], strategy: str, rng: random.Random) -> list[Target]:
    """``targets`` (a model's, in catalog order) in the order a request tries them."""
    if len(targets) == 1:
        return targets
    tiers: dict[int, list[Target]] = {}
    for target in targets:
        tiers.setdefault(target.upstream.tier, []).append(target)
    if len(tiers) == 1:
        return _order(targets, strategy, rng)
    ordered: list[Target] = []
    for tier in sorted(tiers):
        ordered += _order(tiers[tier], strategy, rng)
    return ordered


def _order(tier: list[Target], strategy: str, rng: random.Random) -> list[Target]:
    if len(tier) == 1 or strategy == "ordered":
        return tier
    if strategy == "weighted":
        return _weighted(tier, rng)
    if strategy == "least_inflight":
        return sorted(tier, key=lambda t: (t.stats.inflight, rng.random()))
    if strategy == "latency":
        if rng.random() < EXPLORE:
            return rng.sample(tier, len(tier))
        return sorted(tier, key=lambda t: (t.stats.latency or 0.0, rng.random()))
    return tier  # pragma: no cover - the catalog admits only the strategies above


def _weighted(tier: list[Target], rng: random.Random) -> list[Target]:
    """Weighted random order (Efraimidis–Spirakis: key = u^(1/w), highest first), so the
    first is picked in proportion to weight and so is each fallback among the rest."""
    keyed = []
    for target in tier:
        weight = target.upstream.weight
        key = rng.random() ** (1.0 / weight) if weight > 0 else -rng.random()
        keyed.append((key, target))
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [target for _, target in keyed]
