"""Typed platform errors, classified by what the publisher should do next.

Adapters (and `_http.py`) raise these; nothing above `platforms/` sees aiohttp
exceptions. Each class carries a `Category` (reported to API clients in
`platform_results`), whether a retry can help, and the wait the platform asked for.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class Category(enum.StrEnum):
    """What went wrong, as `platform_results[].error_category` tells API clients.

    The one list of categories: the API description, the store and the publisher
    use these members (a `StrEnum`, so each also is its plain string).
    """

    AUTH = "auth"  # the account must be reconnected
    RATE_LIMITED = "rate_limited"  # the platform asked us to wait
    VALIDATION = "validation"  # the platform (or Octopost) refused the content
    MEDIA = "media"  # a media file was refused or could not be fetched/processed
    DUPLICATE = "duplicate"  # refused as a repeat of an earlier post
    PLATFORM = "platform"  # the platform failed (5xx, maintenance)
    NETWORK = "network"  # the platform could not be reached
    UNKNOWN = "unknown"  # the post may or may not exist: check before re-posting


class PlatformError(Exception):
    """Base class: a platform call failed. `message` is safe to show to users.

    `retry_after` is the wait in seconds the platform asked for (Retry-After, a
    rate-limit reset), None when it named none.
    """

    category: ClassVar[Category] = Category.PLATFORM
    retryable: ClassVar[bool] = False

    #: the platform's own words, when they differ from `message` (e.g. behind the
    #: uniform "Token expired. Reconnect ..." text)
    detail: str | None = None

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class AuthExpiredError(PlatformError):
    """The platform rejected the credentials (expired, revoked, invalid).

    `refreshable`: a token refresh may cure it (an expired or invalid access token),
    so `_oauth.TokenKeeper` refreshes once and repeats the request; False for what
    only a reconnect grants (a missing permission or scope). When this still
    escapes, the account needs to be reconnected.
    """

    category = Category.AUTH

    def __init__(
        self, message: str, *, status: int | None = None, refreshable: bool = True
    ) -> None:
        super().__init__(message, status=status)
        self.refreshable = refreshable


class RateLimitedError(PlatformError):
    """The platform asked us to wait; `retry_after` is seconds from now (None: unknown)."""

    category = Category.RATE_LIMITED
    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)


class RejectedError(PlatformError):
    """Permanent: the platform refused this content. `message` is the platform's reason."""

    category = Category.VALIDATION


class AddressRefusedError(RejectedError):
    """Octopost itself refused to connect: the host is a loopback, private or link-local
    address and `security.allow_private_urls` is off. No request left; the platform never
    judged anything."""


class DuplicateError(RejectedError):
    """The platform refused the post as a duplicate of an earlier one.

    `existing`: the id of the earlier post, when the platform named it.
    """

    category = Category.DUPLICATE

    def __init__(
        self, message: str, *, status: int | None = None, existing: str | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.existing = existing


class MediaError(RejectedError):
    """The media could not be fetched, was refused, or failed the platform's processing."""

    category = Category.MEDIA


class UnavailableError(PlatformError):
    """Transient: 5xx, maintenance, or a connection that never reached the platform."""

    category = Category.PLATFORM
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
        super().__init__(message, status=status, retry_after=retry_after)
        self.network = network
        #: the request left before the failure: repeating it is safe (the caller said so),
        #: but this attempt may have created the post
        self.sent = sent


class OutcomeUnknownError(PlatformError):
    """The request may have reached the platform (timeout after sending, reset mid-answer).

    Never retried blindly: the adapter's `recover()` decides whether the post
    exists, or the user is told to check the platform before re-posting.
    """

    category = Category.UNKNOWN


def category_of(exc: PlatformError) -> Category:
    """The error category reported to clients (`network` for connection failures)."""
    if isinstance(exc, UnavailableError) and exc.network:
        return Category.NETWORK
    return exc.category
