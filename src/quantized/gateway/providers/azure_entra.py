"""Microsoft Entra ID bearer tokens for Azure OpenAI upstreams (``auth: entra``).

Tokens come from azure-identity's ``DefaultAzureCredential``, which reads the
standard environment itself: a service principal (``AZURE_TENANT_ID``,
``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET`` or a certificate, ``AZURE_AUTHORITY_HOST``
for another cloud), workload identity, a managed identity, or a developer's
``az login``. Its synchronous credential runs in a worker thread, never on the
event loop (the asynchronous one would need aiohttp).

One token (scope ``https://cognitiveservices.azure.com/.default``) serves every
``entra`` upstream of the process. It is kept until it is due for refresh (when
the credential says, else five minutes before it expires): while it is fresh a
request costs a clock read; once it is due, requests go on with it while one
refresh runs in the background; only a missing or (nearly) expired token makes
requests wait, all for the same fetch. A failed fetch is remembered for a few
seconds, so an identity endpoint that is down is not asked once per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from quantized.gateway.providers.base import CredentialsUnavailable

if TYPE_CHECKING:
    from azure.core.credentials import AccessTokenInfo, SupportsTokenInfo

log = logging.getLogger("quantized.gateway")

SCOPE = "https://cognitiveservices.azure.com/.default"
REFRESH_MARGIN = 300.0
"""Seconds before expiry a token is refreshed, unless the credential says when."""
EXPIRY_MARGIN = 30.0
"""Seconds before expiry a token is no longer sent (it could expire on the way)."""
FETCH_TIMEOUT = 30.0
"""Seconds a fetch may take before requests stop waiting for it."""
FAILURE_PAUSE = 5.0
"""Seconds a failed fetch is reported again without asking the credential."""


def default_credential() -> SupportsTokenInfo:
    """The standard credential chain. Instance discovery (asking login.microsoftonline.com
    whether ``AZURE_AUTHORITY_HOST`` is a Microsoft authority) is off: it is skipped for
    Microsoft's own clouds anyway, and private clouds need it off."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(disable_instance_discovery=True)


def _reason(exc: BaseException) -> str:
    """A failure's first line (azure-identity's messages name the cause, never a secret)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


class EntraTokens:
    """The current Entra ID token, fetched and refreshed as described above."""

    def __init__(self, credential: SupportsTokenInfo | None = None) -> None:
        self._credential = credential
        self._token: AccessTokenInfo | None = None
        self._refresh_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._failed: CredentialsUnavailable | None = None
        self._failed_until = 0.0

    def current(self) -> str | None:
        """The token to send now, or ``None`` if there is none still valid."""
        token = self._token
        if token is None or time.time() >= token.expires_on - EXPIRY_MARGIN:
            return None
        return token.token

    async def ensure(self) -> None:
        """Make sure :meth:`current` has a token, or raise :class:`CredentialsUnavailable`."""
        now = time.time()
        if now < self._refresh_at:
            return
        pausing = self._failed is not None and now < self._failed_until
        if self.current() is not None:
            if not pausing:
                self._refreshing()  # due: refreshed in the background, this one still serves
            return
        if pausing and self._failed is not None:
            raise self._failed
        await asyncio.shield(self._refreshing())
        if self.current() is None:
            raise CredentialsUnavailable("Microsoft Entra ID gave a token that has expired")

    def _refreshing(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._fetch())
            self._task.add_done_callback(_retrieved)
        return self._task

    async def _fetch(self) -> None:
        try:
            token = await asyncio.wait_for(asyncio.to_thread(self._get), FETCH_TIMEOUT)
        except Exception as exc:
            reason = "no answer in time" if isinstance(exc, TimeoutError) else _reason(exc)
            log.warning("could not get a Microsoft Entra ID token for Azure OpenAI (%s)", reason)
            self._failed = CredentialsUnavailable(
                "the gateway could not get a Microsoft Entra ID token for Azure OpenAI"
            )
            self._failed_until = time.time() + FAILURE_PAUSE
            raise self._failed from None
        self._token, self._failed = token, None
        due = token.expires_on - REFRESH_MARGIN
        self._refresh_at = min(due, token.refresh_on) if token.refresh_on else due

    def _get(self) -> AccessTokenInfo:
        if self._credential is None:
            self._credential = default_credential()
        return self._credential.get_token_info(SCOPE)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await asyncio.to_thread(close)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A background refresh's failure was logged already: mark it seen."""
    if not task.cancelled():
        task.exception()
