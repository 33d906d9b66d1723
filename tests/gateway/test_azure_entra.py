"""Entra ID tokens for Azure OpenAI, from azure-identity's real credential chain talking to a
fake Entra ID authority over HTTPS: fetched once, kept while fresh, refreshed when due."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from quantized.catalog.model import Upstream
from quantized.gateway.providers.azure import AzureProvider
from quantized.gateway.providers.base import CredentialsUnavailable
from quantized.gateway.surfaces.chat import parse_chat_request
from tests.gateway.conftest import Run
from tests.utils.entra import FakeEntra
from tests.utils.loops import until

ENTRA = Upstream(
    "azure", "https://r.openai.azure.com", "dep", api_version="2024-10-21", auth="entra"
)
KEYED = Upstream("azure", "https://r.openai.azure.com", "dep", api_version="2024-10-21")
CHAT = parse_chat_request(
    orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]})
)


@pytest.fixture
def entra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEntra]:
    """A fake authority, and the standard variables DefaultAzureCredential reads."""
    fake = FakeEntra(tmp_path, set()).start()
    for name, value in fake.environment().items():
        monkeypatch.setenv(name, value)
    for name in ("HTTPS_PROXY", "https_proxy", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    yield fake
    fake.stop()


def bearer(provider: AzureProvider, upstream: Upstream = ENTRA, key: str | None = None) -> bytes:
    return dict(provider.call(CHAT, upstream, key).headers)[b"authorization"]


def test_a_token_is_fetched_once_and_kept_while_fresh(entra: FakeEntra, run: Run) -> None:
    async def main() -> None:
        provider = AzureProvider()
        await asyncio.gather(*(provider.prepare(ENTRA, None) for _ in range(5)))
        assert entra.issued == ["entra-token-1"]  # five requests waited for one fetch
        assert bearer(provider) == b"Bearer entra-token-1"
        for _ in range(3):
            await provider.prepare(ENTRA, None)
        assert entra.issued == ["entra-token-1"]
        await provider.close()

    run(main())


def test_a_token_due_for_refresh_serves_while_a_new_one_is_fetched(
    entra: FakeEntra, run: Run
) -> None:
    entra.expires_in = 120  # due at once (less than five minutes left), valid for two

    async def main() -> None:
        provider = AzureProvider()
        await provider.prepare(ENTRA, None)
        assert entra.issued == ["entra-token-1"]
        await provider.prepare(ENTRA, None)  # does not wait: the refresh runs meanwhile
        assert bearer(provider) in (b"Bearer entra-token-1", b"Bearer entra-token-2")
        await until(lambda: bearer(provider) == b"Bearer entra-token-2")
        entra.expires_in = 3600
        await provider.prepare(ENTRA, None)
        await until(lambda: bearer(provider) == b"Bearer entra-token-3")
        issued = len(entra.issued)
        for _ in range(3):
            await provider.prepare(ENTRA, None)
        assert len(entra.issued) == issued == 3
        await provider.close()

    run(main())


def test_a_failed_fetch_is_credentials_unavailable_and_paused(
    entra: FakeEntra, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "the-wrong-secret-42")

    async def main() -> None:
        provider = AzureProvider()
        for _ in range(3):
            with pytest.raises(CredentialsUnavailable) as caught:
                await provider.prepare(ENTRA, None)
            message = str(caught.value)
            assert "Entra ID token" in message and "the-wrong-secret-42" not in message
        assert entra.refused == 1 and entra.issued == []  # asked once, then paused
        await provider.close()

    run(main())


def test_a_configured_token_or_an_api_key_needs_no_fetch(entra: FakeEntra, run: Run) -> None:
    async def main() -> None:
        provider = AzureProvider()
        await provider.prepare(ENTRA, "operator-token")
        await provider.prepare(KEYED, "azure-key")
        assert bearer(provider, key="operator-token") == b"Bearer operator-token"
        await provider.close()

    run(main())
    assert entra.issued == []
