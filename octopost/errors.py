"""Domain errors. They know nothing about HTTP; `web/errors.py` maps them to responses."""

from __future__ import annotations

from typing import Any

import msgspec


class FieldError(msgspec.Struct, omit_defaults=True):
    """One problem with one input field (`field` is a path like `platforms[1]`)."""

    field: str
    message: str
    #: extra machine-readable data (e.g. per-platform measurements)
    meta: dict[str, Any] | None = None


class OctopostError(Exception):
    """Base of every error the API reports on purpose."""

    code = "error"

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationError(OctopostError):
    """The request is well-formed but its content is not acceptable (422)."""

    code = "validation_error"


class NotFoundError(OctopostError):
    code = "not_found"


class ConflictError(OctopostError):
    """The resource is in a state that forbids the operation (409)."""

    code = "conflict"


class AuthenticationError(OctopostError):
    code = "unauthorized"


class IdempotencyError(ValidationError):
    """An Idempotency-Key was reused with a different request (422)."""

    code = "idempotency_key_reused"


class ForbiddenError(OctopostError):
    """The key is valid but may not do this (e.g. a sandbox key changing accounts)."""

    code = "forbidden"


class StorageFullError(OctopostError):
    """A write failed because the data directory's disk is full (503).

    Nothing stored before is lost: SQLite rolls the failed write back whole."""

    code = "storage_full"


class UpstreamError(OctopostError):
    """A platform could not be reached or is unavailable right now (502); worth retrying.

    Never a judgement on the request: nothing was stored, the same request may succeed
    later (after `retry_after` seconds, when known)."""

    code = "platform_unavailable"

    def __init__(
        self,
        message: str,
        details: list[FieldError] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after
