"""OAuth 2.0 for adapters: tokens kept fresh, refreshed once after a refusal, rotation stored.

An account's token lives in its credentials (`access_token`, `expires_at`,
`refresh_token`, ...). Three rules, each written once here:

- Refresh ahead: a token within `EXPIRY_MARGIN` of its expiry (or missing) is replaced
  before it is sent (`TokenKeeper.current`).
- Refresh once, then retry: a request refused with a refreshable `AuthExpiredError` is
  sent again once with a new token; the platform refused the first one, so repeating it
  cannot duplicate anything. A second refusal escapes: the user must reconnect
  (`TokenKeeper.send`).
- Rotation through the account: one refresh per account at a time, and the complete
  new credentials are stored before they are used, so a single-use refresh token is
  never lost (`refresh_once`).

The token endpoint itself is RFC 6749's token request (`request_token`): the refresh
grant (section 6) and the authorization-code exchange (section 4.1.3, `exchange_code`)
of the connect flows, with the same error handling. `pkce_pair` and `authorize_url`
are the other protocol pieces of connecting (RFC 7636, RFC 6749 4.1.1); the flow
itself (state, callback, storing the account) is `octopost/connect.py`'s.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, overload
from urllib.parse import urlencode

import msgspec
from yarl import URL

from octopost.platforms._http import PlatformHttp, expired
from octopost.platforms.base import Account
from octopost.platforms.errors import AuthExpiredError, RejectedError, UnavailableError

log = logging.getLogger("octopost.platforms")

T = TypeVar("T")

#: replace an access token this many seconds before its recorded expiry
EXPIRY_MARGIN = 60.0

Credentials = dict[str, Any]
#: current credentials -> the complete new credentials (raises AuthExpiredError when refused)
Exchange = Callable[[Credentials], Awaitable[Credentials]]


class Token(msgspec.Struct):
    """A token endpoint's answer: RFC 6749 5.1, or the 5.2 error some send with HTTP 200."""

    access_token: str = ""
    expires_in: float | None = None
    refresh_token: str | None = None
    #: the scopes granted (RFC 6749 5.1: space-separated; LinkedIn separates by commas)
    scope: str | None = None
    error: str | None = None
    error_description: str | None = None


def pkce_pair(encoding: str = "base64url") -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 4.1-4.2: 43 characters of
    unreserved alphabet from 32 random bytes, and its base64url SHA-256 without padding
    (`encoding="hex"`: the SHA-256 in hex, as TikTok's desktop apps must send it)."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if encoding == "hex":
        return verifier, digest.hex()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(endpoint: str, params: Mapping[str, str]) -> str:
    """`endpoint` with the authorization request's parameters added to its query
    (RFC 6749 4.1.1; an endpoint may already carry a query of its own)."""
    url = URL(endpoint)
    return str(url.update_query({**url.query, **params}))


def granted_scopes(token: Token) -> frozenset[str] | None:
    """The scopes a token answer says were granted (None: it does not say)."""
    if token.scope is None:
        return None
    return frozenset(s for s in token.scope.replace(",", " ").split() if s)


TokenT = TypeVar("TokenT", bound=Token)


async def refresh_once(
    account: Account, stale: Mapping[str, Any], exchange: Exchange
) -> Credentials:
    """Run `exchange(current)` unless another task already replaced `stale`, and store
    its result before returning it (under the account's lock, so a rotating refresh token
    is spent once, and its successor is never lost)."""
    async with account.lock:
        if dict(account.credentials) != dict(stale):
            return account.credentials
        new = await exchange(dict(account.credentials))
        await account.save_credentials(new)
        return new


def _expires_at(creds: Mapping[str, Any]) -> float | None:
    """`expires_at` in epoch seconds (a number, or its text); None when unknown."""
    value = creds.get("expires_at")
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _has_token(creds: Mapping[str, Any]) -> bool:
    return bool(creds.get("access_token"))


def _always(_: Mapping[str, Any]) -> bool:
    return True


class TokenKeeper:
    """One account's access token, for one adapter instance.

    `exchange` gets new credentials from the platform. The predicates say what this
    platform's credentials hold: whether there is a token to send (`has_token`), when it
    expires (`expires_at`, None: unknown, use it until refused) and whether it can be
    refreshed at all (`can_refresh`: e.g. not an OAuth 1.0a pair).
    """

    def __init__(
        self,
        account: Account,
        clock: Callable[[], float],
        exchange: Exchange,
        *,
        has_token: Callable[[Mapping[str, Any]], bool] = _has_token,
        expires_at: Callable[[Mapping[str, Any]], float | None] = _expires_at,
        can_refresh: Callable[[Mapping[str, Any]], bool] = _always,
    ) -> None:
        self.account = account
        self.clock = clock
        self.exchange = exchange
        self.has_token = has_token
        self.expires_at = expires_at
        self.can_refresh = can_refresh

    def due(self, creds: Mapping[str, Any]) -> bool:
        """Whether `creds` need a new token before the next request."""
        if not self.can_refresh(creds):
            return False
        if not self.has_token(creds):
            return True
        expiry = self.expires_at(creds)
        return expiry is not None and expiry - EXPIRY_MARGIN <= self.clock()

    async def current(self) -> Credentials:
        """Credentials to send now: refreshed first when the token is missing or expiring."""
        creds = dict(self.account.credentials)
        return await self.refresh(creds) if self.due(creds) else creds

    async def refresh(self, stale: Mapping[str, Any]) -> Credentials:
        """New credentials (once per account; others waiting reuse them)."""
        return await refresh_once(self.account, stale, self.exchange)

    async def send(self, attempt: Callable[[Credentials], Awaitable[T]]) -> T:
        """`attempt(credentials)`; refused with a token a refresh may cure, once more."""
        creds = await self.current()
        try:
            return await attempt(creds)
        except AuthExpiredError as exc:
            if not exc.refreshable or not self.can_refresh(creds):
                raise
            creds = await self.refresh(creds)
        return await attempt(creds)


@overload
async def request_token(
    http: PlatformHttp,
    url: str | URL,
    form: Mapping[str, str],
    *,
    basic: tuple[str, str] | None = None,
) -> Token: ...


@overload
async def request_token(
    http: PlatformHttp,
    url: str | URL,
    form: Mapping[str, str],
    *,
    basic: tuple[str, str] | None = None,
    kind: type[TokenT],
) -> TokenT: ...


async def request_token(
    http: PlatformHttp,
    url: str | URL,
    form: Mapping[str, str],
    *,
    basic: tuple[str, str] | None = None,
    kind: type[Token] = Token,
) -> Token:
    """POST a token request; the platform's refusal is an `AuthExpiredError` (reconnect).

    `basic`: (client id, client secret) sent as HTTP Basic (RFC 6749 2.3.1), for
    platforms that take the client's secret that way rather than in the form.
    A token request never creates a post, so a lost answer is a plain transient
    failure (the next attempt finds out whether a rotated token was spent).
    """
    label = http.label
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic is not None:
        pair = f"{basic[0]}:{basic[1]}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    try:
        resp = await http.request(
            "POST",
            url,
            headers=headers,
            data=urlencode(form),
            safe_to_retry=True,
            ok=(200, 400, 401),
        )
    except (RejectedError, AuthExpiredError) as exc:  # another refusal (403, a classified 4xx)
        raise expired(label, status=exc.status) from exc
    except UnavailableError as exc:
        if not exc.sent:
            raise
        raise UnavailableError(f"{label} did not answer the token request", network=True) from exc
    if resp.status == 200:
        token = resp.decode(kind)
    else:  # RFC 6749 5.2 {"error", "error_description"}, or a body that is not JSON
        data = resp.json()
        data = data if isinstance(data, dict) else {}
        error: Any = data.get("error")
        # Meta answers its Graph envelope {"error": {"message", "type", "code"}}, and
        # api.instagram.com a flat {"error_type", "code", "error_message"}
        nested = error if isinstance(error, dict) else {}
        if nested:
            error = nested.get("type") or "error"
        token = kind(
            error=str(error or "") or None,
            error_description=str(
                nested.get("message")
                or data.get("error_description")
                or data.get("error_message")
                or ""
            )
            or None,
        )
    if resp.status == 200 and not token.error and token.access_token:
        return token
    log.info(
        "%s token request refused: %s",
        label,
        token.error_description or token.error or f"HTTP {resp.status}",
    )
    if token.error == "invalid_client":
        raise AuthExpiredError(
            f"{label} refused the app's client credentials (invalid_client): check them, "
            f"then reconnect your {label} account.",
            status=resp.status,
            refreshable=False,
        )
    refused = expired(label, status=resp.status)
    refused.detail = token.error_description  # the platform's reason, for the connect flow
    raise refused


async def exchange_code(
    http: PlatformHttp,
    url: str | URL,
    form: Mapping[str, str],
    *,
    basic: tuple[str, str] | None = None,
    kind: type[TokenT],
) -> TokenT:
    """The authorization-code grant (RFC 6749 4.1.3): `form` carries code, redirect_uri,
    client_id (and code_verifier, client_secret as the platform wants them)."""
    return await request_token(
        http, url, {"grant_type": "authorization_code", **form}, basic=basic, kind=kind
    )


def rotated(
    current: Mapping[str, Any], token: Token, now: float, *, lifetime: float | None = None
) -> Credentials:
    """The complete new credentials after a refresh.

    A platform that rotates refresh tokens sends a new one and the old one stops
    working; one that does not sends none and the old one is kept. `lifetime`: the
    documented token life when the answer gives none (None: the expiry is unknown).
    """
    new = {**current, "access_token": token.access_token}
    if token.refresh_token:
        new["refresh_token"] = token.refresh_token
    life = token.expires_in or lifetime
    if life:
        new["expires_at"] = now + float(life)
    else:
        new.pop("expires_at", None)
    return new
