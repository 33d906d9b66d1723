"""The domain error tree.

Every failure a caller or an operator can cause is one of these. They carry a
human message, the offending parameter (if any) and a stable machine ``code``;
they know nothing about HTTP. ``quantized.api.errors`` maps each class (by its
place in this tree, nearest ancestor first) to a status and to the error shape
of the API that answers, and the CLI prints ``message`` as one line. Lower
layers raise their own small trees (the upstream client's ``UpstreamError``,
Redis's ``RedisDown``) and map them into this one at one edge each; the store
maps database failures to ``ServiceUnavailableError`` (``database_unavailable``).

    QuantizedError
    ├── ConfigurationError       bad settings, unreadable files, bad CLI input
    ├── InvalidRequestError      a request the caller must fix (400)
    │   ├── CatalogFormatError   a catalog file that does not follow the format
    │   └── PayloadTooLargeError a request body over the configured limit (413)
    ├── AuthenticationError      no, malformed, unknown, revoked or expired credential (401)
    ├── PermissionDeniedError    a valid caller asking for something it may not do (403)
    ├── NotFoundError            no such model, key or path (404)
    ├── GoneError                the model was deprecated and is no longer served (410)
    ├── MethodNotAllowedError    the path exists, the method does not (405)
    ├── ConflictError            the thing already exists (409)
    ├── RateLimitError           over a budget or a rate limit (429, with a retry time)
    ├── ServiceUnavailableError  a dependency we need is not reachable right now, or the
    │                            server is at a capacity limit (503, maybe with a retry time)
    └── UpstreamFailure          the upstream provider failed us
        ├── BadGatewayError      unreachable, answered 5xx or something unreadable (502)
        ├── GatewayTimeoutError  no answer in time (504)
        └── UpstreamRejected     answered 4xx: passed on with its status and message
"""

from __future__ import annotations


class QuantizedError(Exception):
    """Base of every error Quantized raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigurationError(QuantizedError):
    """Settings, files or command-line input an operator must fix."""

    code = "configuration_error"


class InvalidRequestError(QuantizedError):
    """A request that is wrong in a way the caller must fix."""

    code = "invalid_request"


class CatalogFormatError(InvalidRequestError):
    """A catalog document that does not follow the catalog format."""

    code = "invalid_catalog"


class PayloadTooLargeError(InvalidRequestError):
    """A request body larger than the server accepts."""

    code = "payload_too_large"


class AuthenticationError(QuantizedError):
    """The caller could not be identified.

    ``presented`` says whether a credential was sent at all (RFC 6750: a missing
    credential gets no ``error="invalid_token"``).
    """

    code = "invalid_api_key"

    def __init__(self, message: str, *, presented: bool = True, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.presented = presented


class PermissionDeniedError(QuantizedError):
    """The caller is known but may not do this."""

    code = "permission_denied"


class NotFoundError(QuantizedError):
    """The named thing does not exist (or the caller may not know it does)."""

    code = "not_found"


class GoneError(QuantizedError):
    """The thing existed and was retired on purpose."""

    code = "gone"


class MethodNotAllowedError(QuantizedError):
    """The resource exists but does not answer this method."""

    code = "method_not_allowed"

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class ConflictError(QuantizedError):
    """The thing being created already exists."""

    code = "conflict"


class ServiceUnavailableError(QuantizedError):
    """Something the request needs (a database, an identity provider) is unreachable, or the
    server is at one of its capacity limits; ``retry_after`` says when to try again, if known."""

    code = "service_unavailable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RateLimitError(QuantizedError):
    """Over a budget or a rate limit; ``retry_after`` says when trying again makes sense."""

    code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, retry_after: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamFailure(QuantizedError):
    """The upstream provider did not give a usable answer."""

    code = "upstream_error"


class BadGatewayError(UpstreamFailure):
    """The upstream could not be reached, or failed (5xx)."""


class GatewayTimeoutError(UpstreamFailure):
    """The upstream did not answer in time."""

    code = "upstream_timeout"


class UpstreamRejected(UpstreamFailure):
    """The upstream refused the request (4xx); its status and message are passed on, and
    its ``Retry-After`` (``retry_after``, seconds) when it gave one."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code or "upstream_rejected")
        self.status = status
        self.retry_after = retry_after
