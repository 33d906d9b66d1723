"""Catalog importers: our format, OpenRouter's model list, LiteLLM's price file.

Every importer returns models in our terms plus the entries it skipped, with the
reason; it never half-imports: a malformed document is an error naming the entry,
and the caller writes the models in one transaction. Aliases a foreign catalog
suggests (a provider's own name for a model) are conveniences: one that clashes
with another model's name is left out and reported, never a reason to fail.

LiteLLM's entries for clouds (Azure OpenAI, Bedrock) need to know where the operator's
account is: :class:`ImportOptions` says it (``quantized models import --azure-endpoint``,
``POST /admin/v1/models/import?azure_endpoint=…``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from quantized.catalog.aliases import Clash, without_clashes
from quantized.catalog.document import load_catalog_text
from quantized.catalog.model import Model
from quantized.catalog.schema import parse_entry
from quantized.errors import CatalogFormatError


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Imported:
    models: list[Model]
    skipped: list[Skipped] = field(default_factory=list)
    dropped_aliases: list[Clash] = field(default_factory=list)
    unrouted: list[Skipped] = field(default_factory=list)
    """Imported models that got no upstream, with the reason (where there is one to tell)."""


DEFAULT_BEDROCK_REGION = "us-east-1"
_BASE_URL = re.compile(r"^https?://[^ \t\n\r\f\v/\x00]+[^\x00]*$")
_API_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")
AZURE_V1_SUFFIX = "/openai/v1"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """Where the operator's cloud accounts are, for LiteLLM's entries of those clouds.

    ``azure_endpoint``: the Azure OpenAI resource (``https://NAME.openai.azure.com``, or
    ``…/openai/v1`` for Azure's v1 API); without it Azure's entries get no upstream.
    ``azure_api_version``: its ``api-version`` (required unless the endpoint is a v1 one).
    ``bedrock_region``: the AWS region of Bedrock entries whose key names none (default
    :data:`DEFAULT_BEDROCK_REGION`). A value that breaks these rules is a ``ValueError``.
    """

    azure_endpoint: str | None = None
    azure_api_version: str | None = None
    bedrock_region: str | None = None

    def __post_init__(self) -> None:
        endpoint, version = self.azure_endpoint, self.azure_api_version
        if endpoint is not None:
            if len(endpoint) > 2048 or not _BASE_URL.match(endpoint):
                raise ValueError(
                    "azure_endpoint must be an http(s) URL, such as https://NAME.openai.azure.com"
                )
            object.__setattr__(self, "azure_endpoint", endpoint.rstrip("/"))
        if version is not None and not _API_VERSION.match(version):
            raise ValueError("azure_api_version must be an api-version such as 2024-10-21")
        if version is not None and endpoint is None:
            raise ValueError("azure_api_version needs an azure_endpoint")
        v1 = endpoint is not None and endpoint.rstrip("/").endswith(AZURE_V1_SUFFIX)
        if endpoint is not None and version is None and not v1:
            raise ValueError(
                "azure_api_version is required with an azure_endpoint (such as 2024-10-21): "
                f"Azure OpenAI refuses a request without it (only an endpoint ending in "
                f"{AZURE_V1_SUFFIX}, Azure's v1 API, takes none)"
            )
        if self.bedrock_region is not None and not _REGION.match(self.bedrock_region):
            raise ValueError("bedrock_region must be an AWS region such as us-east-1")

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.azure_endpoint, self.bedrock_region))


def checked_date(now: int) -> str:
    """The ``price_source.checked`` date an import at ``now`` records."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()


def collect(entries: Iterable[tuple[str, dict[str, Any] | Skipped]], *, now: int) -> Imported:
    """Validate translated entries, given as ``(label, entry-or-Skipped)`` pairs.

    The first entry with an id wins; later ones are skipped, and so is an alias some
    earlier entry already has. A translated entry our schema rejects fails the whole
    import, naming ``label``.
    """
    models: list[Model] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for label, entry in entries:
        if isinstance(entry, Skipped):
            skipped.append(entry)
            continue
        if entry["id"] in seen:
            skipped.append(Skipped(label, f"same id as an earlier entry ({entry['id']})"))
            continue
        seen.add(entry["id"])
        try:
            models.append(parse_entry(entry, now=now))
        except CatalogFormatError as exc:
            raise CatalogFormatError(
                f"invalid catalog: entry '{label[:200]}' ({exc.message})", param=exc.param
            ) from None
    kept, dropped = without_clashes(models)
    return Imported(kept, skipped, dropped)


def _quantized(text: bytes, now: int, options: ImportOptions) -> Imported:
    return Imported(load_catalog_text(text, now=now))


def _openrouter(text: bytes, now: int, options: ImportOptions) -> Imported:
    from quantized.catalog.importers.openrouter import parse

    return parse(_json(text), now=now)


def _litellm(text: bytes, now: int, options: ImportOptions) -> Imported:
    from quantized.catalog.importers.litellm import parse

    return parse(_json(text), now=now, options=options)


def _json(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CatalogFormatError(f"invalid catalog: not valid JSON ({exc})") from None


FORMATS: dict[str, Callable[[bytes, int, ImportOptions], Imported]] = {
    "quantized": _quantized,
    "openrouter": _openrouter,
    "litellm": _litellm,
}
WITH_OPTIONS = ("litellm",)
"""The formats :class:`ImportOptions` apply to."""


def parse_foreign(
    name: str, text: bytes, *, now: int, options: ImportOptions | None = None
) -> Imported:
    """Parse ``text`` in the named format (a key of :data:`FORMATS`)."""
    return FORMATS[name](text, now, options or ImportOptions())
