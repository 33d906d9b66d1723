"""What a running server knows: the catalog snapshot and the key index.

Requests read it; only the synchroniser writes it, on the same event loop, so a
request always sees one consistent catalog and one consistent key set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quantized.auth.index import KeyIndex
from quantized.catalog.listing import Catalog


@dataclass(slots=True)
class LiveState:
    catalog: Catalog = field(default_factory=lambda: Catalog(()))
    keys: KeyIndex = field(default_factory=KeyIndex)
    loaded: bool = False
