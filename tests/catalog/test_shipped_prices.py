"""The shipped catalog's prices against LiteLLM 1.108.7's price file.

The fixture (tests/fixtures/litellm_1.108.7_shipped.json) holds, verbatim and in the file's
order, the entries of LiteLLM 1.108.7's model_prices_and_context_window.json (the copy in
the PyPI wheel litellm==1.108.7) that our importer turns into a model with a shipped id or
into a shipped model's counterpart, plus its ``sample_spec``.

A shipped model's counterpart is the imported model serving the same thing: one with an
upstream at the same host and model name as one of ours (the provider's own entry), else
the one with our id, else one whose id or alias is one of our aliases (LiteLLM's names,
such as ``claude-opus-4-7`` or ``ministral-14b-2512``, differ from our ids). Every price of
ours must equal the counterpart's or be explained: the entry's ``price_source.note`` says
what LiteLLM 1.108.7 lists and which source was kept, and why.

A cache-write price that is unset (ours) or 0/absent (LiteLLM's; the importer leaves it
unset) means writes cost the prompt price, so the two compare as that price: only a write
price actually billed apart can differ.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from quantized.catalog.document import read_catalog_file
from quantized.catalog.importers import ImportOptions, parse_foreign
from quantized.catalog.model import Cost, Model, Upstream

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "quantized" / "data" / "catalog.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "litellm_1.108.7_shipped.json"
NOW = 1_795_000_000
EXPLAINED = "LiteLLM 1.108.7"
"""What a note names when it explains a difference with this file."""
FIELDS = ("prompt", "completion", "input_cache_read", "input_cache_write")
MIN_MATCHED = 30


def shipped() -> list[Model]:
    return read_catalog_file(SHIPPED, now=NOW)


def litellm() -> list[Model]:
    return parse_foreign("litellm", FIXTURE.read_bytes(), now=NOW, options=ImportOptions()).models


def _where(upstream: Upstream) -> tuple[str | None, str]:
    return urlsplit(upstream.base_url).hostname, upstream.model.lower()


def counterpart(model: Model, imported: list[Model]) -> Model | None:
    """The imported model that is ``model``'s (see the module's docstring)."""
    ours = {_where(u) for u in model.upstreams}
    for other in imported:
        if ours & {_where(u) for u in other.upstreams}:
            return other
    for other in imported:
        if other.id == model.id:
            return other
    names = set(model.aliases)
    for other in imported:
        if names & {other.id.split("/", 1)[1], *other.aliases}:
            return other
    return None


def billed(cost: Cost, field: str) -> float:
    """The price a token of this kind is billed at (a cache write unset: the prompt's)."""
    value = getattr(cost, field)
    if field == "input_cache_write" and not value:
        return cost.prompt
    return float(value)


def matched() -> list[tuple[Model, Model]]:
    imported = litellm()
    pairs = [(m, counterpart(m, imported)) for m in shipped()]
    return [(m, other) for m, other in pairs if other is not None]


def test_every_difference_with_litellm_is_explained() -> None:
    unexplained = []
    for model, other in matched():
        note = (model.price_source.note if model.price_source else None) or ""
        for field in FIELDS:
            if field == "input_cache_write" and not (
                model.cost.input_cache_write or other.cost.input_cache_write
            ):
                continue  # both bill writes as prompt tokens: the prompt price tells
            ours, theirs = billed(model.cost, field), billed(other.cost, field)
            if abs(ours - theirs) > 1e-9 and EXPLAINED not in note:
                unexplained.append(
                    f"{model.id} {field}: ours {ours:g}, LiteLLM 1.108.7 ({other.id}) {theirs:g}"
                )
    assert not unexplained, (
        f"prices differing from LiteLLM 1.108.7 whose price_source.note does not say "
        f"'{EXPLAINED}' and why:\n  " + "\n  ".join(unexplained)
    )


def test_most_shipped_models_are_matched() -> None:
    pairs = matched()
    assert len(pairs) >= MIN_MATCHED, (
        f"only {len(pairs)} shipped models matched a LiteLLM 1.108.7 entry: "
        f"{sorted(m.id for m, _ in pairs)}"
    )


def test_the_providers_own_entries_are_the_counterparts() -> None:
    """Where LiteLLM files another host's entry under our id, the provider's own wins."""
    pairs = {m.id: other.id for m, other in matched()}
    assert pairs["deepseek/deepseek-v4.1-flash"] == "deepseek/deepseek-flash"  # not Coral Bricks'
    assert pairs["mistralai/ministral-8b"] == "mistralai/ministral-8b-2512"  # not Vercel's
    assert pairs["anthropic/claude-opus-4.7"] == "anthropic/claude-opus-4-7"  # by upstream


def test_the_fixture_holds_only_entries_for_shipped_models() -> None:
    models = shipped()
    ids = {m.id for m in models}
    imported = litellm()
    used = {other.id for m in models if (other := counterpart(m, imported)) is not None}
    strays = sorted(m.id for m in imported if m.id not in ids | used)
    assert not strays, f"fixture entries that map onto no shipped model: {strays}"
