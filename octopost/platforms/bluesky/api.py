"""Bluesky XRPC plumbing: the cached session, error translation, record keys.

Sessions come from `com.atproto.server.createSession` (handle/email/DID + app password),
which the PDS rate-limits (30 per 5 minutes, 300 per day per account), so a session is
kept in the account credentials and renewed with `com.atproto.server.refreshSession`
(rotating refresh token); we log in again only when there is no session or the refresh
token itself is expired or revoked. Both go through `_oauth.TokenKeeper`, so concurrent
publishes of one account renew once and a rotated refresh token is stored before use.

An expired access token is HTTP **400** `ExpiredToken`, not 401
(packages/pds/src/auth-verifier.ts); it is classified as auth-expired here.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from octopost import netguard
from octopost.platforms._http import Response, expired
from octopost.platforms._oauth import TokenKeeper
from octopost.platforms.base import Account, Deps, Options, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    PlatformError,
    RejectedError,
)

log = logging.getLogger("octopost.platforms.bluesky")

LABEL = "Bluesky"
POST = "app.bsky.feed.post"
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
_MEDIA_ERRORS = frozenset(
    {"BlobTooLarge", "BlobNotFound", "InvalidMimeType", "InvalidSize", "PayloadTooLarge"}
)
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


class Credentials(msgspec.Struct, kw_only=True):
    """What the user supplies, plus the cached session (XRPC names, kept across restarts)."""

    identifier: str
    app_password: str
    pds_url: str | None = None
    accessJwt: str | None = None
    refreshJwt: str | None = None
    did: str | None = None
    handle: str | None = None
    #: the account's own PDS (from its DID document): the audience of video service tokens
    pdsEndpoint: str | None = None


class BlueskyOptions(Options):
    """Per-account options (`settings` at connect time)."""

    #: attach a link card for the first link of a post without media
    link_card: bool = True


class Session(msgspec.Struct):
    accessJwt: str
    refreshJwt: str
    did: str
    handle: str
    didDoc: dict[str, Any] | None = None


class SessionInfo(msgspec.Struct):
    did: str
    handle: str


class Profile(msgspec.Struct):
    displayName: str | None = None


class Created(msgspec.Struct):
    uri: str
    cid: str = ""


class Record(msgspec.Struct):
    uri: str
    cid: str | None = None


class Resolved(msgspec.Struct):
    did: str


class ServiceToken(msgspec.Struct):
    token: str


def xrpc_error(resp: Response) -> tuple[str, str]:
    """(`error`, `message`) of an XRPC error body; empty strings when absent."""
    data = resp.json()
    if not isinstance(data, dict):
        return "", ""
    error, message = data.get("error"), data.get("message")
    return (
        error if isinstance(error, str) else "",
        message.strip() if isinstance(message, str) else "",
    )


def reason(resp: Response) -> str | None:
    error, message = xrpc_error(resp)
    return message or error or None


def classify(resp: Response, now: float) -> PlatformError | None:
    """Bluesky's quirks; 429 and other 5xx keep the default mapping."""
    error, message = xrpc_error(resp)
    why = message or error or f"HTTP {resp.status}"
    status = resp.status
    if error in _TOKEN_ERRORS and status in (400, 401):
        return expired(LABEL, status=status)
    if status == 401 and error in ("AccountTakedown", "AccountDeactivated"):
        return AuthExpiredError(
            f"{LABEL} refused the account ({why}). Reconnect your Bluesky account.",
            status=status,
            refreshable=False,
        )
    if status == 413 or error in _MEDIA_ERRORS or (status == 400 and "uploadBlob" in resp.url):
        return MediaError(f"{LABEL} refused the media: {why}", status=status)
    if status == 501 or error == "MethodNotImplemented":
        return RejectedError(
            f"{urlsplit(resp.url).netloc} does not implement {_nsid(resp.url)} ({why})",
            status=status,
        )
    return None


def _nsid(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: only to renew before the PDS says so)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


def new_tid(now: float) -> str:
    """A record key: TID = 53-bit microsecond timestamp + 10-bit random clock id, sortable base32."""
    value = (int(now * 1_000_000) << 10) | secrets.randbelow(1024)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def did_web(url: str) -> str:
    """`did:web:` of a service URL (a port is percent-encoded, per the did:web spec)."""
    return "did:web:" + urlsplit(url).netloc.replace(":", "%3A")


def pds_endpoint(did_doc: dict[str, Any] | None) -> str | None:
    """The `#atproto_pds` service endpoint of a DID document."""
    services = did_doc.get("service") if isinstance(did_doc, dict) else None
    for service in services if isinstance(services, list) else []:
        if (
            isinstance(service, dict)
            and str(service.get("id", "")).endswith("#atproto_pds")
            and isinstance(service.get("serviceEndpoint"), str)
        ):
            return str(service["serviceEndpoint"])
    return None


def post_url(handle: str, uri: str) -> str:
    """The app's URL of a post; the DID stands in for a handle that no longer verifies."""
    if not handle or handle == "handle.invalid":
        handle = uri.removeprefix("at://").split("/", 1)[0]
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def _has_session(creds: Mapping[str, Any]) -> bool:
    return bool(creds.get("accessJwt") and creds.get("refreshJwt") and creds.get("did"))


class Api:
    """XRPC calls for one account with its cached session; renews it at most once per call."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.bind(LABEL, reason=reason, classify=classify)
        self.keeper = TokenKeeper(
            account,
            deps.clock,
            self._renew,
            has_token=_has_session,
            expires_at=lambda creds: jwt_expiry(str(creds.get("accessJwt") or "")),
        )

    def credentials(self, raw: Mapping[str, Any] | None = None) -> Credentials:
        creds = decode_credentials(Credentials, raw or self.account.credentials, LABEL)
        if not creds.identifier.strip() or not creds.app_password.strip():
            raise RejectedError(
                f"Invalid {LABEL} credentials: identifier and app_password are required"
            )
        return creds

    def service_url(self, creds: Credentials | None = None) -> str:
        creds = creds or self.credentials()
        if creds.pds_url:
            try:
                netguard.parse_http_url(creds.pds_url)
            except netguard.InvalidUrlError as exc:
                raise RejectedError(f"Invalid {LABEL} credentials: pds_url {exc}") from None
        return (creds.pds_url or self.deps.settings.base_url).rstrip("/")

    async def session(self) -> Credentials:
        """Credentials with a live session (logging in when there is none)."""
        return self.credentials(await self.keeper.current())

    async def call(
        self,
        method: str,
        nsid: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        safe_to_retry: bool | None = None,
        ok: tuple[int, ...] | None = None,
    ) -> Response:
        """One authorised XRPC call; renews the session once on expiry, then retries."""

        async def attempt(raw: dict[str, Any]) -> Response:
            creds = self.credentials(raw)
            resp = await self.http.request(
                method,
                f"{self.service_url(creds)}/xrpc/{nsid}",
                headers={"Authorization": f"Bearer {creds.accessJwt}", **(headers or {})},
                params=params,
                json=json,
                data=data,
                safe_to_retry=safe_to_retry,
                ok=ok,
            )
            # a caller accepting 400 (RecordNotFound, HandleNotFound) still wants a renewal
            if resp.status in (400, 401) and xrpc_error(resp)[0] in _TOKEN_ERRORS:
                raise expired(LABEL, status=resp.status)
            return resp

        return await self.keeper.send(attempt)

    async def _renew(self, current: dict[str, Any]) -> dict[str, Any]:
        """A fresh session: refreshSession, or createSession when the refresh token is
        missing, expired or revoked."""
        creds = self.credentials(current)
        if creds.refreshJwt:
            resp = await self.http.request(
                "POST",
                f"{self.service_url(creds)}/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {creds.refreshJwt}"},
                # the old refresh token stays valid for a grace period: a repeat is harmless
                safe_to_retry=True,
                ok=(200, 400, 401),
            )
            if resp.status == 200:
                return self._merge(current, resp.decode(Session))
            log.info(
                "bluesky refresh refused; logging in again",
                extra={"status": resp.status, "reason": reason(resp)},
            )
        return await self._login(current, creds)

    async def _login(self, current: dict[str, Any], creds: Credentials) -> dict[str, Any]:
        resp = await self.http.request(
            "POST",
            f"{self.service_url(creds)}/xrpc/com.atproto.server.createSession",
            json={"identifier": creds.identifier.strip(), "password": creds.app_password.strip()},
            safe_to_retry=True,  # a session, never a post
            ok=(200, 400, 401),
        )
        if resp.status != 200:
            error, message = xrpc_error(resp)
            hint = (
                " Use an app password (Settings > Privacy and security > App passwords)."
                if error == "AuthFactorTokenRequired"
                else ""
            )
            raise AuthExpiredError(
                f"{LABEL} refused the login: {message or error or f'HTTP {resp.status}'}.{hint} "
                "Check the identifier and app password and reconnect your Bluesky account.",
                status=resp.status,
            )
        return self._merge(current, resp.decode(Session))

    @staticmethod
    def _merge(current: dict[str, Any], session: Session) -> dict[str, Any]:
        new = {
            **current,
            "accessJwt": session.accessJwt,
            "refreshJwt": session.refreshJwt,
            "did": session.did,
            "handle": session.handle,
        }
        endpoint = pds_endpoint(session.didDoc)
        if endpoint:
            new["pdsEndpoint"] = endpoint
        return new
