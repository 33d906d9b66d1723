"""AWS credentials and Signature Version 4 for Bedrock upstreams (``auth: sigv4``).

Credentials come from botocore's standard chain, as the AWS CLI finds them: the
environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``),
a profile (``AWS_PROFILE``, the shared ``credentials`` and ``config`` files, SSO,
``credential_process``, an assumed role), web identity, or a container or instance
role. Finding them may read files or ask a metadata endpoint, so it runs in a worker
thread, never on the event loop; what it found is kept for the provider's lifetime.
Temporary credentials are refreshed (again in a thread) once they are within
``REFRESH_MARGIN`` of their expiry; requests wait for that refresh, all for the
same one. A failure is remembered for ``FAILURE_PAUSE`` seconds, so a metadata
endpoint that is down is not asked once per request.

Signing (:func:`signed_headers`) is botocore's ``SigV4Auth`` over exactly what the
gateway's client sends and nothing it cannot control: ``host``, ``content-type``,
``x-amz-content-sha256``, ``x-amz-date`` and ``x-amz-security-token`` (a header added
after signing, such as ``traceparent``, stays unsigned, which SigV4 allows).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from quantized.gateway.providers.base import CredentialsUnavailable

if TYPE_CHECKING:
    from quantized.catalog.model import Upstream

log = logging.getLogger("quantized.gateway")

SERVICE = "bedrock"
REFRESH_MARGIN = 15 * 60
"""Seconds before temporary credentials expire that they are refreshed (botocore's
own advisory margin; it refuses to use them in the last 10 minutes)."""
FETCH_TIMEOUT = 30.0
FAILURE_PAUSE = 5.0
RECHECK = 5.0
"""Seconds between refresh attempts while credentials are due but still usable."""


def region_of(upstream: Upstream) -> str | None:
    """The upstream's region: the catalog's, else the one in its host
    (``bedrock-runtime[-fips].REGION.amazonaws.com``, or a VPC endpoint's
    ``….bedrock-runtime.REGION.vpce.amazonaws.com``)."""
    if upstream.region:
        return upstream.region
    labels = (urlsplit(upstream.base_url).hostname or "").split(".")
    for label, following in zip(labels, labels[1:], strict=False):
        if label.startswith("bedrock-runtime") and following:
            return following
    return None


def _reason(exc: BaseException) -> str:
    """A failure's first line (botocore's messages name the cause, never a secret)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


class AwsCredentials:
    """The process's AWS credentials, found and refreshed as described above."""

    def __init__(self, source: Any = None) -> None:
        self._source: Any = source
        """botocore's ``Credentials`` (``RefreshableCredentials`` for temporary ones); given,
        they are used instead of the standard chain's."""
        self._frozen: Any = None
        """Their ``ReadOnlyCredentials``: what :meth:`current` signs with."""
        self._next_check = 0.0
        self._task: asyncio.Task[None] | None = None
        self._failed: CredentialsUnavailable | None = None
        self._failed_until = 0.0

    def current(self) -> Any:
        """The ``ReadOnlyCredentials`` to sign with, or ``None`` before :meth:`ensure`."""
        return self._frozen

    async def ensure(self) -> None:
        """Make sure :meth:`current` is fresh, or raise :class:`CredentialsUnavailable`."""
        now = time.monotonic()
        if self._frozen is not None and (now < self._next_check or not self._due()):
            return
        if self._failed is not None and now < self._failed_until:
            raise self._failed
        await asyncio.shield(self._refreshing())
        if self._frozen is None:  # pragma: no cover - _fetch raised instead
            raise CredentialsUnavailable("no AWS credentials were found")

    def _due(self) -> bool:
        refresh_needed = getattr(self._source, "refresh_needed", None)
        return bool(refresh_needed(REFRESH_MARGIN)) if refresh_needed is not None else False

    def _refreshing(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._fetch())
            self._task.add_done_callback(_retrieved)
        return self._task

    async def _fetch(self) -> None:
        try:
            self._frozen = await asyncio.wait_for(asyncio.to_thread(self._get), FETCH_TIMEOUT)
        except Exception as exc:
            if isinstance(exc, CredentialsUnavailable):
                failed = exc
            else:
                reason = "no answer in time" if isinstance(exc, TimeoutError) else _reason(exc)
                log.warning("could not get AWS credentials for Bedrock (%s)", reason)
                failed = CredentialsUnavailable(
                    f"the gateway could not get AWS credentials ({reason})"
                )
            self._failed, self._failed_until = failed, time.monotonic() + FAILURE_PAUSE
            raise failed from None
        self._failed, self._next_check = None, time.monotonic() + RECHECK

    def _get(self) -> Any:
        """Blocking: find the credentials (once), and freeze them (refreshing if due)."""
        if self._source is None:
            from botocore.session import Session  # type: ignore[import-untyped]

            self._source = Session().get_credentials()
            if self._source is None:
                log.warning("no AWS credentials found for Bedrock")
                raise CredentialsUnavailable(
                    "no AWS credentials were found (environment, AWS_PROFILE and shared "
                    "files, web identity, container or instance role)"
                )
        return self._source.get_frozen_credentials()


def _retrieved(task: asyncio.Task[Any]) -> None:
    """A refresh's failure was logged and raised to its waiters already: mark it seen."""
    if not task.cancelled():
        task.exception()


def signed_headers(
    credentials: Any, region: str, url: str, body: bytes
) -> list[tuple[bytes, bytes]]:
    """The headers that sign a JSON ``POST`` of ``body`` to ``url`` (fast: no I/O)."""
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]

    headers = {
        "content-type": "application/json",
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return [(name.lower().encode(), value.encode()) for name, value in request.headers.items()]
