"""Claims to a caller: the subject must fit where it is recorded (ledger, budgets, audit)."""

from __future__ import annotations

import pytest

from quantized.auth.jwt.claims import subject
from quantized.auth.jwt.config import ClaimRules
from quantized.errors import AuthenticationError

RULES = ClaimRules(
    subject_claim="sub",
    models_claim="models",
    admin_claim="roles",
    admin_value="quantized-admin",
    default_models="all",
)


def test_a_plain_subject_is_the_caller() -> None:
    assert subject({"sub": "alice@example.com"}, RULES) == "alice@example.com"
    assert subject({"sub": "x" * 200}, RULES) == "x" * 200


@pytest.mark.parametrize("value", ["x" * 201, "alice\x00", "bob\nsmith", "", 42, None])
def test_a_subject_the_ledger_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises(AuthenticationError) as caught:
        subject({"sub": value}, RULES)
    assert caught.value.code == "invalid_token"
