"""JWT bearer tokens from trusted issuers (OIDC providers, or any signer you configure).

``config`` holds the issuer settings (no crypto imports, so plain key setups do
not pay for them); ``keys`` the key sources; ``claims`` the mapping from claims
to a caller; ``verifier`` the verification with its cache.
"""
