"""The one authentication rule: keys, the store lookup for keys created elsewhere a moment
ago (single flight, negative cache, rate limit), and 503 when the index may be incomplete."""

from __future__ import annotations

import asyncio

import pytest

from quantized.auth.api_keys import ApiKey, display_prefix, generate_key, key_digest
from quantized.auth.authenticator import Authenticator
from quantized.auth.lookup import KeyLookup
from quantized.auth.refresh import RefreshRequired
from quantized.errors import AuthenticationError, ServiceUnavailableError


def stored(key_id: int, secret: str) -> ApiKey:
    return ApiKey(
        id=key_id,
        name=f"k{key_id}",
        prefix=display_prefix(secret),
        digest=key_digest(secret),
        models=None,
        is_admin=False,
        created_at=0.0,
    )


class Store:
    """Keys by digest, as the database would answer (slowly), counting the lookups."""

    def __init__(self, *keys: ApiKey) -> None:
        self.keys = {k.digest: k for k in keys}
        self.lookups = 0

    async def find(self, digest: bytes) -> ApiKey | None:
        self.lookups += 1
        await asyncio.sleep(0.01)
        return self.keys.get(digest)


def authenticator(store: Store, per_second: float = 100.0) -> Authenticator:
    auth = Authenticator()
    auth.lookup = KeyLookup(store.find, auth.keys.put, per_second=per_second)
    return auth


def bearer(secret: str) -> bytes:
    return b"Bearer " + secret.encode()


def test_a_key_the_index_does_not_know_yet_is_found_once_for_everyone() -> None:
    secret = generate_key()
    store = Store(stored(5, secret))
    auth = authenticator(store)

    async def main() -> list[str]:
        principals = await asyncio.gather(*(auth.resolve(bearer(secret)) for _ in range(20)))
        return [p.id for p in principals]

    assert asyncio.run(main()) == ["5"] * 20
    assert store.lookups == 1
    assert auth.authenticate(bearer(secret), 0.0).id == "5"  # now in the index: no I/O


def test_an_unknown_key_is_looked_up_once_then_refused_from_memory() -> None:
    store = Store()
    auth = authenticator(store)
    unknown = bearer(generate_key())
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="Incorrect API key"):
            asyncio.run(auth.resolve(unknown))
    assert store.lookups == 1


def test_garbage_keys_cannot_load_the_store() -> None:
    store = Store()
    auth = authenticator(store, per_second=5)

    async def main() -> None:
        for _ in range(200):
            with pytest.raises(AuthenticationError):
                await auth.resolve(bearer(generate_key()))

    asyncio.run(main())
    assert 5 <= store.lookups <= 8  # the burst, plus what refilled while the test ran


def test_the_fast_path_asks_for_io_only_when_a_lookup_is_worth_it() -> None:
    store = Store()
    auth = authenticator(store, per_second=1)
    with pytest.raises(RefreshRequired):
        auth.authenticate(bearer(generate_key()), 0.0)
    with pytest.raises(AuthenticationError):  # over the rate: refused at once, no I/O
        auth.authenticate(bearer(generate_key()), 0.0)


def test_a_failing_store_is_503_for_everyone_waiting() -> None:
    secret = generate_key()

    async def broken(_digest: bytes) -> ApiKey | None:
        await asyncio.sleep(0.01)
        raise ServiceUnavailableError("The database is unreachable.")

    auth = Authenticator()
    auth.lookup = KeyLookup(broken, auth.keys.put)

    async def main() -> list[BaseException | object]:
        return await asyncio.gather(
            *(auth.resolve(bearer(secret)) for _ in range(3)), return_exceptions=True
        )

    assert all(isinstance(r, ServiceUnavailableError) for r in asyncio.run(main()))


def test_unknown_keys_are_503_while_the_index_may_be_incomplete() -> None:
    healthy = False
    auth = Authenticator(complete=lambda: healthy)
    known = generate_key()
    auth.keys.put(stored(1, known))
    assert auth.authenticate(bearer(known), 0.0).id == "1"  # known keys work from memory
    with pytest.raises(ServiceUnavailableError, match="cannot be checked"):
        auth.authenticate(bearer(generate_key()), 0.0)
    healthy = True
    with pytest.raises(AuthenticationError):
        auth.authenticate(bearer(generate_key()), 0.0)


def test_a_jwt_without_issuers_is_refused_clearly() -> None:
    with pytest.raises(AuthenticationError, match="no trusted issuer"):
        Authenticator().authenticate(b"Bearer aaa.bbb.ccc", 0.0)
