"""YouTube Data API plumbing: wire structs, metadata rules, error translation, OAuth calls.

Google error bodies are `{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`;
the reason decides: https://developers.google.com/youtube/v3/docs/errors
Access tokens last an hour and come from the refresh token at `{auth_url}/token`; Google
does not rotate refresh tokens. A refresh goes through `Account.refresh` (once per account).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from yarl import URL

from octopost.platforms._http import Response, retry_after
from octopost.platforms.base import Account, Deps, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

log = logging.getLogger("octopost.platforms.youtube")

LABEL = "YouTube"
AUTH_EXPIRED = "Token expired. Reconnect your YouTube account."
EXPIRY_MARGIN = 60.0
TITLE_MAX = 100

# `<` and `>` are refused in titles and descriptions (invalidTitle / invalidDescription):
# https://developers.google.com/youtube/v3/docs/videos#snippet.title
_ANGLES = str.maketrans({"<": "\u2039", ">": "\u203a"})
_TAGS = re.compile(r"<[^>]+>")
_RANGE = re.compile(r"(?:bytes=)?\s*0-(\d+)")


class Credentials(msgspec.Struct, kw_only=True):
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str | None = None
    #: epoch seconds
    expires_at: float | None = None


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    privacy: Literal["public", "unlisted", "private"] = "public"
    category_id: str = "22"  # People & Blogs
    made_for_kids: bool = False
    notify_subscribers: bool = True


class Token(msgspec.Struct):
    access_token: str = ""
    expires_in: float | None = None
    refresh_token: str | None = None
    error: str | None = None
    error_description: str | None = None


class Snippet(msgspec.Struct):
    title: str = ""
    customUrl: str | None = None


class Channel(msgspec.Struct):
    id: str
    snippet: Snippet = msgspec.field(default_factory=Snippet)


class Channels(msgspec.Struct):
    items: list[Channel] = []


class Video(msgspec.Struct):
    id: str


def sanitize(text: str) -> str:
    return text.translate(_ANGLES)


def video_title(content: str) -> str:
    """The first non-blank line, `<>` replaced, cut at a word to 100 characters with '…'."""
    line = next((" ".join(ln.split()) for ln in content.splitlines() if ln.strip()), "")
    line = sanitize(line)
    if len(line) <= TITLE_MAX:
        return line
    cut = line[: TITLE_MAX - 1]
    space = cut.rfind(" ")
    if space >= TITLE_MAX // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


def _errors(resp: Response) -> tuple[str, str]:
    """(first errors[].reason, message without HTML) of a Google error body."""
    data = resp.json()
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return "", ""
    items = err.get("errors")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    message = _TAGS.sub("", str(err.get("message") or first.get("message") or "")).strip()
    return str(first.get("reason") or ""), message


def error_reason(resp: Response) -> str | None:
    reason, message = _errors(resp)
    if message and reason:
        return f"{message} ({reason})"
    return message or reason or None


def until_midnight_pacific(now: float) -> float:
    """Seconds until the YouTube quota resets (midnight America/Los_Angeles)."""
    try:
        zone: Any = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        zone = timezone(timedelta(hours=-8))
    local = datetime.fromtimestamp(now, zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(0.0, midnight.timestamp() - now)


class TokenInvalidError(AuthExpiredError):
    """401 from the API: refresh once and retry; escapes as a plain auth error."""


_MEDIA_REASONS = frozenset({"mediaBodyRequired", "invalidFilename", "badContent", "invalidVideo"})


def classify(resp: Response, now: float) -> PlatformError | None:
    """Google's error reasons: https://developers.google.com/youtube/v3/docs/errors"""
    reason, message = _errors(resp)
    status = resp.status
    detail = (
        f"{message} ({reason})" if message and reason else (message or reason or f"HTTP {status}")
    )
    if reason == "youtubeSignupRequired":
        return RejectedError(
            f"This Google account has no {LABEL} channel. Create one, then reconnect the account.",
            status=status,
        )
    if status == 401:
        return TokenInvalidError(AUTH_EXPIRED, status=status)
    if reason == "quotaExceeded":
        wait = until_midnight_pacific(now)
        return RateLimitedError(
            f"The {LABEL} API quota of your Google Cloud project is used up (quotaExceeded). "
            f"It resets at midnight Pacific time, in about {max(1, round(wait / 3600))} h.",
            retry_after=wait,
            status=status,
        )
    if reason == "uploadLimitExceeded":
        return RateLimitedError(
            f"This {LABEL} channel has reached its upload limit (uploadLimitExceeded). "
            "Try again in about 24 hours.",
            retry_after=24 * 3600.0,
            status=status,
        )
    if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
        return RateLimitedError(
            f"{LABEL} rate limit reached: {detail}",
            retry_after=retry_after(resp.headers, now),
            status=status,
        )
    if reason == "insufficientPermissions":
        return AuthExpiredError(
            f"{LABEL} did not grant the permission this needs ({reason}). Reconnect your "
            "YouTube account and allow uploading videos.",
            status=status,
        )
    if reason in _MEDIA_REASONS:
        return MediaError(f"{LABEL} refused the video: {detail}", status=status)
    return None


def stored_bytes(headers: Mapping[str, str]) -> int:
    """Bytes the session holds, from a 308's `Range: bytes=0-N` (no header: none)."""
    match = _RANGE.search(headers.get("Range", ""))
    return int(match.group(1)) + 1 if match else 0


def decode(resp: Response, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(resp.body, type=kind)
    except msgspec.DecodeError as exc:
        raise UnavailableError(
            f"{LABEL} sent an unexpected answer (HTTP {resp.status})", status=resp.status
        ) from exc


class YoutubeApi:
    """Authorised calls for one account: a fresh access token, refresh once after a 401."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.http.bind(
            LABEL, reason=error_reason, classify=lambda r: classify(r, deps.clock())
        )
        self.token_http = deps.http.bind(LABEL)

    async def call(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        body: Callable[[], Any] | None = None,
        ok: tuple[int, ...] | None = None,
        safe_to_retry: bool | None = None,
        request_timeout: float | None = None,
    ) -> Response:
        """One call with a fresh access token; after a 401, refresh once and send again."""
        for attempt in (1, 2):
            stale = dict(self.account.credentials)
            creds = decode_credentials(Credentials, stale, LABEL)
            if not creds.access_token or (
                creds.expires_at is not None
                and creds.expires_at - EXPIRY_MARGIN <= self.deps.clock()
            ):
                creds = await self.refresh(stale)
                stale = dict(self.account.credentials)
            try:
                return await self.http.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {creds.access_token}", **(headers or {})},
                    params=params,
                    json=json,
                    data=body() if body is not None else None,
                    ok=ok,
                    safe_to_retry=safe_to_retry,
                    timeout=request_timeout,
                )
            except TokenInvalidError:
                if attempt == 2:
                    raise
                await self.refresh(stale)
        raise AssertionError("unreachable")

    async def refresh(self, stale: Mapping[str, Any]) -> Credentials:
        new = await self.account.refresh(stale, self._new_token)
        return decode_credentials(Credentials, new, LABEL)

    async def _new_token(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = decode_credentials(Credentials, current, LABEL)
        resp = await self.token_http.request(
            "POST",
            f"{self.deps.settings.auth_url}/token",
            data={
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": creds.refresh_token,
                "grant_type": "refresh_token",
            },
            ok=(200, 400, 401),
            safe_to_retry=True,  # Google does not rotate refresh tokens
        )
        token = decode(resp, Token)
        if resp.status != 200 or token.error or not token.access_token:
            log.info("youtube refresh refused: %s", token.error_description or token.error)
            if token.error == "invalid_client":
                raise AuthExpiredError(
                    f"Google refused the OAuth client (invalid_client): check client_id and "
                    f"client_secret, then reconnect your {LABEL} account.",
                    status=resp.status,
                )
            raise AuthExpiredError(AUTH_EXPIRED, status=resp.status)
        new = dict(current)
        new["access_token"] = token.access_token
        # Google usually sends no new refresh token: keep the old one
        new["refresh_token"] = token.refresh_token or creds.refresh_token
        new["expires_at"] = self.deps.clock() + (token.expires_in or 3600.0)
        return new
