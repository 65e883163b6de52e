"""The publisher's per-attempt decision, as a table (octopost/retry.py)."""

from __future__ import annotations

import pytest

from octopost.config import PublishingConfig, WebhooksConfig
from octopost.platforms.errors import (
    AuthExpiredError,
    DuplicateError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.retry import Action, backoff, decide, may_have_reached
from octopost.webhooks import next_delay

CONFIG = PublishingConfig(max_attempts=4, backoff_base=1.0, backoff_max=8.0, max_retry_delay=300)


def _top(_low: float, high: float) -> float:  # deterministic "jitter": the top of the range
    return high


def refused() -> UnavailableError:
    return UnavailableError("down", network=True)  # never connected


def sent() -> UnavailableError:
    return UnavailableError("reset", network=True, sent=True)  # failed after sending


# (error, attempt within this budget, an earlier attempt may have reached, expected)
TABLE: list[tuple[PlatformError, int, bool, tuple[Action, str, bool]]] = [
    (UnavailableError("503", status=503), 1, False, (Action.RETRY, "platform", False)),
    (UnavailableError("503", status=503), 4, False, (Action.FAIL, "platform", False)),
    (UnavailableError("503", status=503), 4, True, (Action.FAIL, "platform", True)),
    (UnavailableError("500", status=500), 4, False, (Action.FAIL, "platform", True)),
    (UnavailableError("504", status=504), 4, False, (Action.FAIL, "platform", True)),
    (refused(), 4, False, (Action.FAIL, "network", False)),
    (sent(), 3, False, (Action.RETRY, "network", False)),
    (sent(), 4, False, (Action.FAIL, "network", True)),  # issue 9, point 1
    (RateLimitedError("slow", retry_after=10), 1, False, (Action.RETRY, "rate_limited", False)),
    (RateLimitedError("slow", retry_after=3600), 1, False, (Action.FAIL, "rate_limited", False)),
    (RateLimitedError("slow", retry_after=3600), 1, True, (Action.FAIL, "rate_limited", True)),
    (RejectedError("no"), 1, False, (Action.FAIL, "validation", False)),
    (DuplicateError("dup"), 2, True, (Action.FAIL, "duplicate", True)),
    (AuthExpiredError("expired"), 1, False, (Action.REAUTH, "auth", False)),
    (AuthExpiredError("expired"), 2, True, (Action.REAUTH, "auth", True)),
    (OutcomeUnknownError("lost"), 1, False, (Action.RECOVER, "unknown", False)),
    (OutcomeUnknownError("lost"), 4, False, (Action.RECOVER, "unknown", False)),
]


@pytest.mark.parametrize(("error", "attempt", "reached", "expected"), TABLE)
def test_decision_table(
    error: PlatformError, attempt: int, reached: bool, expected: tuple[Action, str, bool]
) -> None:
    decision = decide(error, attempt=attempt, reached=reached, config=CONFIG, jitter=_top)
    action, category, ask = expected
    assert (decision.action, decision.category, decision.ask) == (action, category, ask)


def test_once_reached_no_final_failure_goes_without_asking() -> None:
    finals = [(e, a, r) for e, a, r, _ in TABLE if r or may_have_reached(e)]
    for error, attempt, reached in finals:
        decision = decide(error, attempt=attempt, reached=reached, config=CONFIG, jitter=_top)
        if decision.action in (Action.FAIL, Action.REAUTH):
            assert decision.ask, error


def test_recover_allows_a_resend_only_within_the_budget() -> None:
    lost = OutcomeUnknownError("lost")
    assert decide(lost, attempt=3, reached=True, config=CONFIG).resend
    assert not decide(lost, attempt=4, reached=True, config=CONFIG).resend


def test_backoff_grows_with_the_attempt_in_this_budget() -> None:
    delays = [
        decide(refused(), attempt=n, reached=False, config=CONFIG, jitter=_top).delay
        for n in (1, 2, 3)
    ]
    assert delays == [1.0, 2.0, 4.0]
    asked = decide(RateLimitedError("x", retry_after=40), attempt=1, reached=False, config=CONFIG)
    assert 40 <= asked.delay <= 41


def test_one_backoff_schedule_for_the_publisher_and_the_webhook_dispatcher() -> None:
    def top(_low: float, high: float) -> float:
        return high

    def bottom(low: float, _high: float) -> float:
        return low

    schedule = [backoff(n, base=2.0, cap=60.0, jitter=top) for n in range(1, 8)]
    assert schedule == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert backoff(3, base=2.0, cap=60.0, jitter=bottom) == 0.0  # the publisher: full jitter
    # the dispatcher: 80-100 % of the same schedule
    assert backoff(3, base=2.0, cap=60.0, jitter=bottom, spread=0.2) == pytest.approx(6.4)
    config = WebhooksConfig()
    for attempts in range(1, 6):
        scheduled = backoff(attempts, base=config.backoff_base, cap=config.backoff_max, jitter=top)
        assert 0.8 <= next_delay(attempts, config) / scheduled <= 1.0
