"""The catalog file format: parse it strictly, write it back identically.

A catalog document is YAML (JSON is accepted too, being YAML)::

    version: 1
    models:
      - id: openai/gpt-4.1-nano            # author/slug
        name: GPT-4.1 Nano
        aliases: [gpt-4.1-nano, gpt-4.1-nano-2025-04-14]   # optional: other names requests use
        description: ...                   # optional
        created: 2025-04-14                # optional: date, datetime or unix seconds
        status: active                     # optional: active | deprecated | disabled
        input_modalities: [text, image]    # subset of text, image, audio, video
        output_modalities: [text]
        supported_features: [tool_calls]   # see quantized.catalog.model.FEATURES
        endpoints: [chat, messages, responses]   # optional: the model APIs it serves (this
                                           # default); an embedding model: [embeddings]
        context_length: 1047576            # optional
        cost: {prompt: 0.1, completion: 0.4, input_cache_read: 0.025}   # USD per 1M tokens;
                                           # optional input_cache_write (default: prompt)
        price_source: {url: ..., checked: 2026-07-24, via: ..., note: ...}  # optional
        upstreams:                          # optional; never listed on /v1/models
          - {provider: openai, base_url: https://api.openai.com/v1,
             model: gpt-4.1-nano, api_key_env: OPENAI_API_KEY,
             responses: true}              # optional: it serves the Responses API itself
        scheduled_prices:                  # optional: prices that take effect later
          - {effective_from: 2026-12-01T00:00:00Z, prompt: 0.08, completion: 0.3}
        pinned: [cost.input_cache_read]    # optional: fields imports never overwrite
        routing: weighted                  # optional: ordered (default) | weighted |
                                           # least_inflight | latency, within a tier;
                                           # upstreams take name, weight, tier, rpm, tpm,
                                           # and api_version (azure), region (bedrock), auth
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from quantized.catalog.aliases import clashes
from quantized.catalog.model import GENERATIVE, Model
from quantized.catalog.schema import CatalogEntry
from quantized.errors import CatalogFormatError, ConfigurationError
from quantized.validation import describe, first_problem


class CatalogDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    version: Literal[1] = 1
    models: list[CatalogEntry]


def parse_catalog(data: Any, *, now: int) -> list[Model]:
    """Validate an already-decoded catalog document and return its models."""
    if isinstance(data, list):
        data = {"models": data}
    try:
        document = CatalogDocument.model_validate(data)
    except ValidationError as exc:
        where, _ = first_problem(exc)
        message = describe(exc)
        entry_id = _entry_id(data, exc.errors()[0]["loc"])
        if entry_id:
            message = f"entry '{entry_id}' ({message})"
        raise CatalogFormatError(f"invalid catalog: {message}", param=where or None) from None
    seen: set[str] = set()
    for index, entry in enumerate(document.models):
        if entry.id in seen:
            raise CatalogFormatError(
                f"invalid catalog: models[{index}].id: duplicate id '{entry.id}'",
                param=f"models[{index}].id",
            )
        seen.add(entry.id)
    models = [entry.to_model(now) for entry in document.models]
    found = clashes(models)
    if found:
        index = next(i for i, m in enumerate(models) if m.id == found[0].model)
        where = f"models[{index}].aliases"
        raise CatalogFormatError(f"invalid catalog: {where}: {found[0].describe()}", param=where)
    return models


def _entry_id(data: Any, loc: tuple[int | str, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        try:
            value = data["models"][loc[1]]["id"]
        except (KeyError, IndexError, TypeError):
            return None
        return value if isinstance(value, str) else None
    return None


def load_catalog_text(text: str | bytes, *, now: int) -> list[Model]:
    """Parse catalog YAML or JSON text."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogFormatError(f"invalid catalog: not valid YAML or JSON{where}") from None
    if not isinstance(data, dict | list):
        raise CatalogFormatError("invalid catalog: expected a mapping with a 'models' list")
    return parse_catalog(data, now=now)


def read_catalog_file(path: Path, *, now: int) -> list[Model]:
    """Read and parse a catalog file; unreadable files are configuration errors."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read catalog file {path}: {exc.strerror}") from None
    try:
        return load_catalog_text(text, now=now)
    except CatalogFormatError as exc:
        raise CatalogFormatError(f"{path}: {exc.message}", param=exc.param) from None


def _loader() -> type[yaml.SafeLoader]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


_Loader = _loader()


def _created(created: int) -> dt.date | dt.datetime:
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.date() if moment.time() == dt.time(0) else moment


def model_to_entry(model: Model) -> dict[str, Any]:
    """The catalog-format mapping of one model (the inverse of ``CatalogEntry.to_model``)."""
    entry: dict[str, Any] = {"id": model.id, "name": model.name}
    if model.aliases:
        entry["aliases"] = list(model.aliases)
    if model.description is not None:
        entry["description"] = model.description
    entry["created"] = _created(model.created)
    if model.status != "active":
        entry["status"] = model.status
    entry["input_modalities"] = list(model.input_modalities)
    entry["output_modalities"] = list(model.output_modalities)
    entry["supported_features"] = list(model.supported_features)
    if model.endpoints != GENERATIVE:
        entry["endpoints"] = list(model.endpoints)
    if model.context_length is not None:
        entry["context_length"] = model.context_length
    if model.routing != "ordered":
        entry["routing"] = model.routing
    entry["cost"] = {k: v for k, v in model.cost.all_numbers().items() if v is not None}
    if model.scheduled:
        entry["scheduled_prices"] = [
            {
                "effective_from": _instant(p.effective_from),
                **{k: v for k, v in p.cost.all_numbers().items() if v is not None},
            }
            for p in model.scheduled
        ]
    if model.price_source is not None:
        source = model.price_source
        entry["price_source"] = {
            key: value
            for key, value in (
                ("url", source.url),
                ("checked", dt.date.fromisoformat(source.checked)),
                ("via", source.via),
                ("note", source.note),
            )
            if value is not None
        }
    if model.upstreams:
        entry["upstreams"] = [
            {
                key: value
                for key, value in (
                    ("provider", u.provider),
                    ("base_url", u.base_url),
                    ("model", u.model),
                    ("api_key_env", u.api_key_env),
                    ("responses", u.responses or None),
                    ("name", u.name),
                    ("weight", None if u.weight == 1 else u.weight),
                    ("tier", u.tier or None),
                    ("rpm", u.rpm or None),
                    ("tpm", u.tpm or None),
                    ("api_version", u.api_version),
                    ("region", u.region),
                    ("auth", u.auth),
                )
                if value is not None
            }
            for u in model.upstreams
        ]
    if model.pinned:
        entry["pinned"] = list(model.pinned)
    return entry


def model_json(model: Model) -> dict[str, Any]:
    """The catalog-format object of a model as JSON (the admin API's model object)."""
    source = model.price_source
    return {
        "id": model.id,
        "name": model.name,
        "aliases": list(model.aliases),
        "description": model.description,
        "created": model.created,
        "status": model.status,
        "input_modalities": list(model.input_modalities),
        "output_modalities": list(model.output_modalities),
        "supported_features": list(model.supported_features),
        "endpoints": list(model.endpoints),
        "context_length": model.context_length,
        "cost": model.cost.all_numbers(),
        "price_source": (
            {"url": source.url, "checked": source.checked, "via": source.via, "note": source.note}
            if source is not None
            else None
        ),
        "upstreams": [asdict(u) for u in model.upstreams],
        "routing": model.routing,
        "scheduled_prices": [
            {"effective_from": _seconds(p.effective_from), **p.cost.all_numbers()}
            for p in model.scheduled
        ],
        "pinned": list(model.pinned),
    }


def _seconds(instant: float) -> int | float:
    return int(instant) if float(instant).is_integer() else instant


def _instant(instant: float) -> dt.datetime | float:
    """A scheduled price's instant as the catalog format writes it (a YAML timestamp)."""
    if not float(instant).is_integer():
        return instant
    return dt.datetime.fromtimestamp(instant, dt.UTC)


_PRICES = {"prompt", "completion", "input_cache_read", "input_cache_write"}


class _Dumper(yaml.SafeDumper):
    """Block style for the structure, flow style for short scalar lists and prices."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str | int | float) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = {"prompt", "completion", "input_cache_read"} <= set(data) <= _PRICES
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dump_catalog(models: Iterable[Model]) -> str:
    """Serialise models in the catalog format, sorted by id."""
    document = {
        "version": 1,
        "models": [model_to_entry(m) for m in sorted(models, key=lambda m: m.id)],
    }
    header = "# Quantized catalog export. Prices: USD per million tokens.\n"
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body
