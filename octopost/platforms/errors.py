"""Typed platform errors, classified by what the publisher should do next.

Adapters (and `_http.py`) raise these; nothing above `platforms/` sees aiohttp
exceptions. Each class carries a `category` (reported to API clients in
`platform_results`) and whether a retry can help.
"""

from __future__ import annotations

from typing import ClassVar


class PlatformError(Exception):
    """Base class: a platform call failed. `message` is safe to show to users."""

    category: ClassVar[str] = "platform"
    retryable: ClassVar[bool] = False

    #: the platform's own words, when they differ from `message` (e.g. behind the
    #: uniform "Token expired. Reconnect ..." text)
    detail: str | None = None

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class AuthExpiredError(PlatformError):
    """The platform rejected the credentials (expired, revoked, invalid).

    The adapter refreshes once where the platform allows it; when this still
    escapes, the account needs to be reconnected.
    """

    category = "auth"


class RateLimitedError(PlatformError):
    """The platform asked us to wait; `retry_after` is seconds from now (None: unknown)."""

    category = "rate_limited"
    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RejectedError(PlatformError):
    """Permanent: the platform refused this content. `message` is the platform's reason."""

    category = "validation"


class DuplicateError(RejectedError):
    """The platform refused the post as a duplicate of an earlier one."""

    category = "duplicate"


class MediaError(RejectedError):
    """The media could not be fetched, was refused, or failed the platform's processing."""

    category = "media"


class UnavailableError(PlatformError):
    """Transient: 5xx, maintenance, or a connection that never reached the platform."""

    category = "platform"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        network: bool = False,
        retry_after: float | None = None,
        sent: bool = False,
    ) -> None:
        super().__init__(message, status=status)
        self.network = network
        self.retry_after = retry_after
        #: the request left before the failure: repeating it is safe (the caller said so),
        #: but this attempt may have created the post
        self.sent = sent

    @property
    def kind(self) -> str:
        return "network" if self.network else "platform"


class OutcomeUnknownError(PlatformError):
    """The request may have reached the platform (timeout after sending, reset mid-answer).

    Never retried blindly: the adapter's `recover()` decides whether the post
    exists, or the user is told to check the platform before re-posting.
    """

    category = "unknown"


def category_of(exc: PlatformError) -> str:
    """The error category reported to clients (`network` for connection failures)."""
    if isinstance(exc, UnavailableError) and exc.network:
        return "network"
    return exc.category
