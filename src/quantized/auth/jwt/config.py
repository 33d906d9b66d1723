"""Trusted issuers: how each one signs, and how its claims map to a caller.

One issuer comes from the ``QUANTIZED_JWT_*`` variables; more can be listed in
``QUANTIZED_JWT_ISSUERS_FILE`` (YAML or JSON)::

    issuers:
      - issuer: https://login.example.com/realms/acme    # the token's iss
        audience: quantized                              # the token's aud (str or list)
        # exactly one key source, or none for OIDC discovery from the issuer URL:
        jwks_url: https://login.example.com/realms/acme/protocol/openid-connect/certs
        # public_key_file: /etc/quantized/issuer.pem     # PEM, JWK or JWKS
        # secret: "..."                                   # HMAC (HS256/384/512)
        algorithms: [RS256]                               # default: all the key source allows
        leeway: 30                                        # seconds, for exp/nbf/iat
        subject_claim: sub
        models_claim: models                              # list or space-separated string
        admin_claim: realm_access.roles                   # dotted paths reach nested claims
        admin_value: quantized-admin
        default_models: all                               # without a models claim: all | none
        team_claim: team                                  # the caller's team, by name
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = ("ES256", "ES384", "ES512")
OKP_ALGORITHMS = ("EdDSA",)
PUBLIC_KEY_ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS + OKP_ALGORITHMS

Algorithm = Literal[
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]


class ClaimRules(BaseModel):
    """How claims become a caller; every field can be set globally or per issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_claim: str = "sub"
    models_claim: str = "models"
    admin_claim: str = "roles"
    admin_value: str = "quantized-admin"
    default_models: Literal["all", "none"] = "all"
    team_claim: str = ""
    """The claim naming the caller's team (by name); empty: teams come from membership."""


class IssuerConfig(BaseModel):
    """One trusted issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str | None = None
    audience: str | list[str] | None = None
    jwks_url: str | None = Field(default=None, pattern=r"^https?://")
    public_key_file: Path | None = None
    secret: SecretStr | None = None
    algorithms: list[Algorithm] | None = None
    leeway: float = Field(default=30.0, ge=0, le=3600)
    subject_claim: str | None = None
    models_claim: str | None = None
    admin_claim: str | None = None
    admin_value: str | None = None
    default_models: Literal["all", "none"] | None = None
    team_claim: str | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> IssuerConfig:
        sources = [
            name
            for name in ("jwks_url", "public_key_file", "secret")
            if getattr(self, name) is not None
        ]
        if len(sources) > 1:
            raise ValueError(f"choose one key source, not {' and '.join(sources)}")
        if not sources and not (self.issuer or "").startswith(("https://", "http://")):
            raise ValueError(
                "needs a key source (jwks_url, public_key_file or secret), or an issuer URL "
                "for OIDC discovery"
            )
        allowed = HMAC_ALGORITHMS if self.secret is not None else PUBLIC_KEY_ALGORITHMS
        bad = [a for a in self.algorithms or () if a not in allowed]
        if bad:
            kind = "an HMAC secret" if self.secret is not None else "public keys"
            raise ValueError(f"algorithm {bad[0]} cannot be used with {kind}")
        if self.secret is not None and len(self.secret.get_secret_value().encode()) < 32:
            raise ValueError("an HMAC secret must be at least 32 bytes")
        return self

    @property
    def discovery(self) -> bool:
        return self.jwks_url is None and self.public_key_file is None and self.secret is None

    @property
    def label(self) -> str:
        return self.issuer or "(any issuer)"

    def allowed_algorithms(self) -> tuple[str, ...]:
        if self.algorithms:
            return tuple(self.algorithms)
        return HMAC_ALGORITHMS if self.secret is not None else PUBLIC_KEY_ALGORITHMS

    def claim_rules(self, defaults: ClaimRules) -> ClaimRules:
        overrides = {
            name: value
            for name in ClaimRules.model_fields
            if (value := getattr(self, name)) is not None
        }
        return defaults.model_copy(update=overrides)


class IssuersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuers: list[IssuerConfig]
