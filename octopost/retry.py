"""What the publisher does after one attempt: a pure decision, tested as a table; and the
one backoff schedule, shared with the webhook dispatcher.

The rule that matters most: once any attempt of a delivery may have reached the
platform (a lost answer, a failure after the request was sent, a 5xx that may come
after the commit), the delivery never ends as a plain failure without asking the
platform (`recover()`). What the platform cannot confirm is reported as `unknown`,
with the message that tells the user to check the account before re-posting.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable

import msgspec

from octopost.config import PublishingConfig
from octopost.platforms.errors import (
    AuthExpiredError,
    Category,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    UnavailableError,
    category_of,
)

#: 5xx answers that may come after the platform did the work (a crash after the commit,
#: a gateway that gave up waiting). 503 and 429 mean the request was turned away.
AFTER_COMMIT_STATUSES = frozenset({500, 502, 504})

Jitter = Callable[[float, float], float]


class Action(enum.StrEnum):
    RETRY = "retry"  # send again after `delay`
    RECOVER = "recover"  # outcome unknown: ask the platform; `resend` says if None allows a resend
    FAIL = "fail"  # final failure (ask the platform first when `ask`)
    REAUTH = "reauth"  # final: the account must be reconnected (ask first when `ask`)


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    action: Action
    delay: float = 0.0
    category: Category = Category.UNKNOWN
    message: str = ""
    retryable: bool = False
    #: FAIL/REAUTH: an attempt may have reached the platform, so recover() decides first
    ask: bool = False
    #: RECOVER: when recover() finds nothing, a resend is within the budget
    resend: bool = False


def unknown_outcome_message(label: str) -> str:
    return (
        f"The request to {label} was interrupted after it was sent, so the post may or may not "
        f"exist there. Check your {label} account before re-posting."
    )


def may_have_reached(exc: PlatformError) -> bool:
    """Whether the failed attempt may have created the post on the platform."""
    if isinstance(exc, OutcomeUnknownError):
        return True
    if isinstance(exc, UnavailableError):
        return exc.sent or exc.status in AFTER_COMMIT_STATUSES
    return False


def backoff(
    attempt: int, *, base: float, cap: float, jitter: Jitter = random.uniform, spread: float = 1.0
) -> float:
    """The wait after failed attempt number `attempt` (1: the first): `base * 2^(attempt-1)`,
    at most `cap`, then a random share of it taken off so that many retries spread out:
    anywhere from `1 - spread` of it to all of it (1.0: full jitter; 0.2: 80-100 %)."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return jitter(delay * (1.0 - spread), delay)


def retry_delay(
    exc: PlatformError, attempt: int, config: PublishingConfig, jitter: Jitter = random.uniform
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up now.

    `attempt` counts within the current publish or retry (1 = its first attempt).
    """
    if not exc.retryable or attempt >= config.max_attempts:
        return None
    asked = exc.retry_after
    base = backoff(attempt, base=config.backoff_base, cap=config.backoff_max, spread=0.0)
    delay = backoff(attempt, base=config.backoff_base, cap=config.backoff_max, jitter=jitter)
    if asked is not None:
        delay = asked + jitter(0, min(1.0, base))
    if delay > config.max_retry_delay:
        return None
    if isinstance(exc, RateLimitedError) and asked is None:
        delay = max(delay, base)
    return delay


def decide(
    exc: PlatformError,
    *,
    attempt: int,
    reached: bool,
    config: PublishingConfig,
    jitter: Jitter = random.uniform,
) -> Decision:
    """The next step after attempt number `attempt` (within this budget) failed with `exc`.

    `reached`: an earlier attempt of this delivery may have reached the platform.
    """
    reached = reached or may_have_reached(exc)
    if isinstance(exc, AuthExpiredError):
        return Decision(
            action=Action.REAUTH, category=Category.AUTH, message=exc.message, ask=reached
        )
    if isinstance(exc, OutcomeUnknownError):
        return Decision(
            action=Action.RECOVER,
            category=Category.UNKNOWN,
            message=exc.message,
            resend=attempt < config.max_attempts,
        )
    delay = retry_delay(exc, attempt, config, jitter)
    if delay is not None:
        return Decision(action=Action.RETRY, delay=delay, category=category_of(exc))
    return Decision(
        action=Action.FAIL,
        category=category_of(exc),
        message=exc.message,
        retryable=exc.retryable,
        ask=reached,
    )
