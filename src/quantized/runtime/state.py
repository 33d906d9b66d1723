"""What a running server knows: the catalog snapshot, who may call, and what they spent.

Requests read it; only the synchroniser writes the catalog, keys and budgets, on
the same event loop, so a request always sees one consistent catalog and key set.
"""

from __future__ import annotations

from quantized.auth.authenticator import Authenticator
from quantized.catalog.listing import Catalog
from quantized.usage.budgets import Budgets


class LiveState:
    __slots__ = ("catalog", "auth", "budgets", "loaded", "store_ok")

    def __init__(self) -> None:
        self.catalog = Catalog(())
        self.auth = Authenticator(complete=lambda: self.store_ok)
        self.budgets = Budgets()
        self.loaded = False
        self.store_ok = True
        """Whether the last look at the database succeeded."""
