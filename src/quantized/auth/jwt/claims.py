"""From verified claims to a caller: subject, allowed models, admin role."""

from __future__ import annotations

from typing import Any

from quantized.auth.jwt.config import ClaimRules
from quantized.catalog.access import EVERYTHING, ModelAccess, normalise_patterns
from quantized.errors import AuthenticationError, InvalidRequestError
from quantized.values import is_line

NOTHING = ModelAccess(())
MAX_SUBJECT = 200


def invalid_token(message: str) -> AuthenticationError:
    """A 401 for a token that is not acceptable (RFC 6750 ``invalid_token``)."""
    return AuthenticationError(message, code="invalid_token")


def claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; a dotted name also reaches nested objects (``realm_access.roles``)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _words(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise invalid_token(
        f"Invalid token: the {what} claim must be a list of strings or a space-separated string."
    )


def subject(claims: dict[str, Any], rules: ClaimRules) -> str:
    """The caller's identity: it names the caller in the ledger, budgets and audit log, so
    it must fit there (1 to 200 characters, no control characters)."""
    value = claim(claims, rules.subject_claim)
    if not isinstance(value, str) or not value:
        raise invalid_token(f"Invalid token: no '{rules.subject_claim}' claim (subject).")
    if not is_line(value, limit=MAX_SUBJECT):
        raise invalid_token(
            f"Invalid token: the '{rules.subject_claim}' claim (subject) must be at most "
            f"{MAX_SUBJECT} characters, without control characters."
        )
    return value


def access(claims: dict[str, Any], rules: ClaimRules) -> ModelAccess:
    value = claim(claims, rules.models_claim)
    if value is None:
        return EVERYTHING if rules.default_models == "all" else NOTHING
    try:
        patterns = normalise_patterns(_words(value, f"'{rules.models_claim}'"))
    except InvalidRequestError as exc:
        raise invalid_token(f"Invalid token: '{rules.models_claim}' claim: {exc.message}") from None
    return ModelAccess(patterns)


def is_admin(claims: dict[str, Any], rules: ClaimRules) -> bool:
    value = claim(claims, rules.admin_claim)
    if value is None:
        return False
    if isinstance(value, bool):
        return False
    return rules.admin_value in _words(value, f"'{rules.admin_claim}'")


def team(claims: dict[str, Any], rules: ClaimRules) -> str | None:
    """The team the token names (by name), if the rules name a team claim and it is there."""
    if not rules.team_claim:
        return None
    value = claim(claims, rules.team_claim)
    if value is None:
        return None
    if not isinstance(value, str) or not is_line(value):
        raise invalid_token(
            f"Invalid token: the '{rules.team_claim}' claim (team) must be a team's name."
        )
    return value
