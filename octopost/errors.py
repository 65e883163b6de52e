"""Domain errors. They know nothing about HTTP; `web/errors.py` maps them to responses."""

from __future__ import annotations

import re
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


class ConnectError(OctopostError):
    """A connect flow's callback cannot finish (400): an unknown, used or expired state,
    the state of another platform, or the platform refused or was denied. Nothing was
    stored. `code` says which (`invalid_state`, `state_expired`, `access_denied`, ...);
    `return_to` is where the flow's starter wanted the browser sent (None: unknown)."""

    code = "connect_failed"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        return_to: str | None = None,
        details: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message, details)
        if code is not None:
            self.code = code
        self.return_to = return_to


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


# msgspec's validation messages, said for people. Used for request bodies and
# parameters (web/errors.py) and for config keys (config.py).
_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Expected `(?:int|float)` >= (\S+)$"), r"must be at least \1"),
    (re.compile(r"^Expected `(?:int|float)` <= (\S+)$"), r"must be at most \1"),
    (re.compile(r"^Expected `(?:int|float)` > (\S+)$"), r"must be more than \1"),
    (re.compile(r"^Expected `(?:int|float)` < (\S+)$"), r"must be less than \1"),
    (re.compile(r"^Expected `str` of length <= (\d+)$"), r"must be at most \1 characters"),
    (re.compile(r"^Expected `str` of length >= (\d+)$"), r"must be at least \1 characters"),
    (
        re.compile(r"^Expected `(?:array|object)` of length <= (\d+)$"),
        r"must have at most \1 items",
    ),
    (
        re.compile(r"^Expected `(?:array|object)` of length >= (\d+)$"),
        r"must have at least \1 items",
    ),
    (re.compile(r"^Expected `int`, got `\w+`$"), "must be an integer"),
    (re.compile(r"^Expected `(?:float|number)`, got `\w+`$"), "must be a number"),
    (re.compile(r"^Expected `str`, got `\w+`$"), "must be a string"),
    (re.compile(r"^Expected `bool`, got `\w+`$"), "must be true or false"),
    (re.compile(r"^Expected `array`, got `\w+`$"), "must be a list"),
    (re.compile(r"^Expected `object`, got `\w+`$"), "must be a JSON object"),
    (
        re.compile(r"^Expected `(?:str \| null|null \| str)`, got `\w+`$"),
        "must be a string or null",
    ),
    (
        re.compile(r"^Expected `(?:object \| null|null \| object)`, got `\w+`$"),
        "must be an object or null",
    ),
    (
        re.compile(r"^Expected `(?:array \| null|null \| array)`, got `\w+`$"),
        "must be a list or null",
    ),
    (re.compile(r"^Invalid enum value (.+)$"), r"\1 is not one of the allowed values"),
]


def in_words(message: str) -> str:
    """A decoder's message ("Expected `int` <= 100") said for people ("must be at most 100")."""
    message = message.strip()
    for pattern, words in _WORDS:
        if pattern.match(message):
            return pattern.sub(words, message)
    return message
