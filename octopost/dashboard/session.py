"""Dashboard sign-in: an API key is exchanged for a server-side session, CSRF on every form.

The browser only ever holds a random session token (HttpOnly, SameSite=Strict, Secure
over HTTPS); the store keeps its SHA-256 hash, the API key it acts as, and the
session's CSRF token. A session ends when it expires, on sign-out, or the moment its
API key is revoked. What a session may do is decided by `octopost.access`, the same
rules the API applies to the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency

from octopost.access import Permission, allowed, declared, refusal, require
from octopost.models import ApiKey, utcnow
from octopost.services import Services

COOKIE = "octopost_session"
#: the sign-in form's CSRF token lives in its own short cookie (there is no session yet)
SIGNIN_COOKIE = "octopost_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: a session unused this long ends; each use extends it (at most every TOUCH_EVERY)
IDLE = timedelta(days=7)
#: ...but never beyond this age: sign in again once a month
MAX_AGE = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)

Req = Request[Any, Any, Any]


class SignInRequired(Exception):
    """No valid session: the dashboard redirects to the sign-in page."""


class CsrfError(Exception):
    """A form arrived without this session's CSRF token (or from another origin)."""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_flags(request: Req) -> dict[str, Any]:
    """HttpOnly and SameSite=Strict always; Secure whenever the page came over HTTPS
    (uvicorn reports https behind a local reverse proxy that says so)."""
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


@dataclass
class Viewer:
    """The signed-in session behind one dashboard request."""

    key: ApiKey
    csrf: str
    token_hash: bytes

    @property
    def sandbox(self) -> bool:
        return self.key.sandbox

    def can(self, permission: str) -> bool:
        return allowed(self.key, Permission(permission))

    def refusal(self, permission: str) -> str | None:
        """Why this session may not do it (octopost.access's words), or None."""
        return refusal(self.key, Permission(permission))

    def require(self, permission: Permission) -> None:
        require(self.key, permission)


async def start_session(services: Services, key: ApiKey) -> tuple[str, datetime]:
    """A new session for `key`: (cookie token, expiry)."""
    token = new_token()
    now = utcnow()
    expires = now + IDLE
    await services.store.sessions.insert(token_hash(token), key.id, new_token(), now, expires)
    return token, expires


#: How a dashboard handler asks for the signed-in viewer (explicit: Litestar 3 drops inferred
#: dependencies).
Who = NamedDependency[Viewer]


async def provide_viewer(request: Req, services: NamedDependency[Services]) -> Viewer:
    """The session of this request, or SignInRequired (a redirect to /signin).

    A page declares the permission it needs in its `opt` (as API routes do); a
    session whose key lacks it gets ForbiddenError with octopost.access's message."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired
    digest = token_hash(token)
    now = utcnow()
    found = await services.store.sessions.get(digest, now)
    if found is None:
        raise SignInRequired
    if now - found.seen_at >= TOUCH_EVERY:
        await services.store.sessions.touch(
            digest, now, min(now + IDLE, found.created_at + MAX_AGE)
        )
    viewer = Viewer(key=found.key, csrf=found.csrf, token_hash=digest)
    permission = declared(request.route_handler.opt)
    if isinstance(permission, Permission):
        viewer.require(permission)
    return viewer


def _same_origin(request: Req) -> bool:
    """Browsers send Origin on every form POST; when present it must be this site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def check_token(request: Req, expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(given, expected) or not _same_origin(request):
        raise CsrfError


async def checked_form(request: Req, viewer: Viewer) -> FormMultiDict:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    check_token(request, viewer.csrf, form.get(CSRF_FIELD))
    return form


def check_header(request: Req, viewer: Viewer) -> None:
    """CSRF for the page's own fetch() calls (the live counter)."""
    check_token(request, viewer.csrf, request.headers.get(CSRF_HEADER))
