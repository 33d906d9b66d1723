from __future__ import annotations

import pytest

from quantized.auth.api_keys import KEY_PREFIX, ApiKey, display_prefix, generate_key, key_digest
from quantized.auth.authenticator import Authenticator
from quantized.auth.index import KeyIndex, bearer_token
from quantized.auth.principal import Principal
from quantized.errors import AuthenticationError


def stored(key_id: int, secret: str, **extra: object) -> ApiKey:
    fields: dict[str, object] = {
        "id": key_id,
        "name": f"k{key_id}",
        "prefix": display_prefix(secret),
        "digest": key_digest(secret),
        "models": None,
        "is_admin": False,
        "created_at": 0.0,
    }
    fields.update(extra)
    return ApiKey(**fields)  # type: ignore[arg-type]


def check(index: KeyIndex, token: bytes, now: float) -> Principal:
    """Authenticate ``token`` against ``index``, the way every route does."""
    authenticator = Authenticator()
    authenticator.keys = index
    return authenticator.authenticate(b"Bearer " + token, now)


def test_generated_keys_have_256_bits_and_the_prefix() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        assert len(key) - len(KEY_PREFIX) >= 43  # 43 base64url chars = 258 bits >= 256


def test_display_prefix_reveals_little() -> None:
    key = generate_key()
    assert display_prefix(key) == key[: len(KEY_PREFIX) + 4]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing API key"),
        (b"Basic abc", "scheme 'Basic'"),
        (b"Bearer", "Empty bearer"),
        (b"Bearer    ", "Empty bearer"),
        (b"Token=abc", "Unsupported authorization scheme."),
        (b"Bearer " + b"x" * 9000, "too long"),
    ],
)
def test_bearer_parsing_errors(header: bytes | None, message: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        bearer_token(header)
    assert message in caught.value.message


def test_bearer_parsing_accepts_any_case() -> None:
    assert bearer_token(b"bEaReR  abc ") == b"abc"


def test_authenticate_known_unknown_revoked_expired() -> None:
    good, revoked, expired, unknown = (generate_key() for _ in range(4))
    index = KeyIndex(
        [
            stored(1, good, models=("openai/*",), is_admin=True),
            stored(2, revoked, revoked_at=100.0),
            stored(3, expired, expires_at=50.0),
        ]
    )
    principal = check(index, good.encode(), 60.0)
    assert (principal.id, principal.is_admin, principal.access.patterns) == (
        "1",
        True,
        ("openai/*",),
    )
    with pytest.raises(AuthenticationError, match="revoked at 1970-01-01T00:01:40Z"):
        check(index, revoked.encode(), 60.0)
    with pytest.raises(AuthenticationError, match="expired at 1970-01-01T00:00:50Z"):
        check(index, expired.encode(), 60.0)
    assert check(index, expired.encode(), 49.0).id == "3"
    with pytest.raises(AuthenticationError, match="Incorrect API key"):
        check(index, unknown.encode(), 60.0)
    with pytest.raises(AuthenticationError, match="Unknown bearer token"):
        check(index, b"sk-other-123", 60.0)


def test_keys_with_any_prefix_are_found_by_digest() -> None:
    index = KeyIndex([stored(7, "sk-from-another-gateway")])
    assert check(index, b"sk-from-another-gateway", 0).id == "7"


def test_put_replaces_and_discard_removes() -> None:
    secret = generate_key()
    index = KeyIndex([stored(1, secret)])
    index.put(stored(1, secret, revoked_at=1.0))
    assert len(index) == 1
    with pytest.raises(AuthenticationError, match="revoked"):
        check(index, secret.encode(), 2.0)
    index.discard(1)
    assert len(index) == 0


def test_keys_with_equal_patterns_share_access() -> None:
    a, b = generate_key(), generate_key()
    index = KeyIndex([stored(1, a, models=("x/*",)), stored(2, b, models=("x/*",))])
    assert check(index, a.encode(), 0).access is check(index, b.encode(), 0).access
