"""What an API key may do: the one place the API, the dashboard and the MCP tools ask.

Two rules, checked together:
- scopes: a key created with permissions (`posts:read`, `posts:write`, ...) may do
  only what they name; a key created without any has full access (every key made
  before scopes existed is one of those);
- the live/sandbox split: a sandbox (`oct_test_`) key works on sandbox posts and
  webhooks but may not change connected accounts (they are real).

Managing API keys (`Permission.KEYS`) is never granted by a scope: it needs a live
key with full access, so a scoped or sandbox key can never mint a stronger one.

Every API route names the permission it needs once, in its handler's `opt`
(`opt=needs(Permission.POSTS_WRITE)`); `guard` enforces it before the handler
runs and the OpenAPI description is written from the same declaration.
"""

from __future__ import annotations

import enum
from typing import Any

from octopost.errors import ForbiddenError
from octopost.models import ApiKey

#: the handler `opt` key that holds a route's permission
OPT = "permission"


class Permission(enum.StrEnum):
    POSTS_READ = "posts:read"
    POSTS_WRITE = "posts:write"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    #: managing API keys: no scope grants it (a live key with full access only)
    KEYS = "keys"


#: the permissions a key can be given (`octopost keys create --scope ...`)
SCOPES: tuple[str, ...] = tuple(p.value for p in Permission if p is not Permission.KEYS)

#: what each permission lets a key do, for `keys create --help` and the docs
DESCRIPTIONS = {
    Permission.POSTS_READ: "list, read and validate (dry run) posts",
    Permission.POSTS_WRITE: "create, update, delete, publish and retry posts",
    Permission.ACCOUNTS_READ: "list and read connected accounts",
    Permission.ACCOUNTS_WRITE: "connect and disconnect accounts (live keys only)",
    Permission.WEBHOOKS_READ: "list and read webhooks and their deliveries",
    Permission.WEBHOOKS_WRITE: "create, change, test and delete webhooks",
}

_SANDBOX = {
    Permission.ACCOUNTS_WRITE: "Sandbox (oct_test_) keys cannot change connected accounts; "
    "use a live key",
    Permission.KEYS: "Sandbox (oct_test_) keys cannot manage API keys; use a live key",
}


def check_scopes(scopes: list[str]) -> list[str]:
    """Known scope names only, duplicates removed, in the canonical order."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown permission {unknown[0]!r}; valid: {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in scopes]


def refusal(key: ApiKey, permission: Permission) -> str | None:
    """Why `key` may not do what `permission` covers, or None when it may."""
    if key.sandbox and permission in _SANDBOX:
        return _SANDBOX[permission]
    if not key.scopes:
        return None
    held = ", ".join(key.scopes)
    if permission is Permission.KEYS:
        return (
            "Managing API keys needs a key with full access (created without --scope); "
            f"this key has only: {held}"
        )
    if permission.value not in key.scopes:
        return f"This API key lacks the '{permission.value}' permission (it has: {held})"
    return None


def allowed(key: ApiKey, permission: Permission) -> bool:
    return refusal(key, permission) is None


def require(key: ApiKey, permission: Permission) -> None:
    reason = refusal(key, permission)
    if reason is not None:
        raise ForbiddenError(reason)


#: `opt` value of a route any valid key may call (the MCP endpoint: its tools are
#: API calls, each checked against its own route's permission)
ANY_KEY = "any"


def needs(permission: Permission | str) -> dict[str, Any]:
    """The `opt` of a route that needs `permission` (or `ANY_KEY`)."""
    return {OPT: permission}


def declared(opt: dict[str, Any]) -> Permission | str | None:
    """The permission a route's `opt` declares (None: it declares none)."""
    value = opt.get(OPT)
    return value if isinstance(value, Permission) or value == ANY_KEY else None


def check_route(key: ApiKey, opt: dict[str, Any]) -> None:
    """Every API route's permission (its `opt`), checked against the key's scopes; run by
    the API key middleware once the key is known (a Litestar guard would cost a copy of
    the route handler on every request).

    A route behind the key middleware that declares no permission is refused (fail
    closed); create_app also refuses to build an app with such a route."""
    permission = declared(opt)
    if permission is None:
        raise ForbiddenError("This route declares no permission; refusing")
    if isinstance(permission, Permission):
        require(key, permission)
