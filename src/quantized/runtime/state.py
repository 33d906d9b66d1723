"""What a running server knows: the catalog snapshot, who may call, and what they spent.

Requests read it; only the synchroniser writes the catalog, keys and budgets, on
the same event loop, so a request always sees one consistent catalog and key set.
"""

from __future__ import annotations

import math
import time

from quantized.auth.authenticator import Authenticator
from quantized.catalog.listing import Catalog
from quantized.usage.budgets import Budgets


class LiveState:
    __slots__ = ("_catalog", "auth", "budgets", "loaded", "store_ok")

    def __init__(self) -> None:
        self._catalog = Catalog(())
        self.auth = Authenticator(complete=lambda: self.store_ok)
        self.budgets = Budgets()
        self.loaded = False
        self.store_ok = True
        """Whether the last look at the database succeeded."""

    @property
    def catalog(self) -> Catalog:
        """The catalog with the prices in force now: when a scheduled price's instant has
        come, the snapshot that lists it replaces this one (one clock read and one
        comparison per look, nothing more, until then)."""
        catalog = self._catalog
        if catalog.switch_at != math.inf and (now := time.time()) >= catalog.switch_at:
            catalog = self._catalog = catalog.at(now)
        return catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        self._catalog = catalog
