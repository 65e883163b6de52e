"""What an API key may do: the one place the API and the dashboard ask.

Today the only rule is the live/sandbox split: a sandbox (`oct_test_`) key works
on sandbox posts and webhooks but may not change connected accounts (they are
real) or manage API keys (a sandbox key must not mint a live one). Scoped keys
add their rules here.
"""

from __future__ import annotations

import enum

from octopost.errors import ForbiddenError
from octopost.models import ApiKey


class Action(enum.StrEnum):
    POSTS = "posts"
    WEBHOOKS = "webhooks"
    ACCOUNTS_READ = "accounts.read"
    ACCOUNTS_CHANGE = "accounts.change"
    KEYS = "keys"


_LIVE_ONLY = {
    Action.ACCOUNTS_CHANGE: "Sandbox (oct_test_) keys cannot change connected accounts; use a live key",
    Action.KEYS: "Sandbox (oct_test_) keys cannot manage API keys; use a live key",
}


def refusal(key: ApiKey, action: Action) -> str | None:
    """Why `key` may not do `action`, or None when it may."""
    if key.sandbox:
        return _LIVE_ONLY.get(action)
    return None


def allowed(key: ApiKey, action: Action) -> bool:
    return refusal(key, action) is None


def require(key: ApiKey, action: Action) -> None:
    reason = refusal(key, action)
    if reason is not None:
        raise ForbiddenError(reason)
