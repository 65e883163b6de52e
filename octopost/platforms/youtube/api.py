"""YouTube Data API plumbing: wire structs, error translation, OAuth calls.

Google error bodies are `{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`;
the reason decides: https://developers.google.com/youtube/v3/docs/errors
Access tokens last an hour and come from the refresh token at `{auth_url}/token`; Google
does not rotate refresh tokens. A refresh goes through `_oauth.py` (once per account).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from yarl import URL

from octopost.platforms._http import Response, expired, retry_after
from octopost.platforms._oauth import TokenKeeper, request_token, rotated
from octopost.platforms.base import Account, Deps, Options, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
)

LABEL = "YouTube"
#: an access token lives an hour (when the answer does not say)
TOKEN_LIFETIME = 3600.0

# job.state keys
SESSION = "youtube_session"
VIDEO_ID = "youtube_video_id"

_TAGS = re.compile(r"<[^>]+>")
_RANGE = re.compile(r"(?:bytes=)?\s*0-(\d+)")


class Credentials(msgspec.Struct, kw_only=True):
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str | None = None
    #: epoch seconds
    expires_at: float | None = None
    #: the channel picked when connecting (None: the one `channels?mine=true` lists)
    channel_id: str | None = None


class YoutubeOptions(Options):
    privacy: Literal["public", "unlisted", "private"] = "public"
    category_id: str = "22"  # People & Blogs
    made_for_kids: bool = False
    notify_subscribers: bool = True


class Thumbnail(msgspec.Struct):
    url: str = ""


class Snippet(msgspec.Struct):
    title: str = ""
    customUrl: str | None = None
    #: "default" (88 px), "medium", "high"
    thumbnails: dict[str, Thumbnail] = {}


class Channel(msgspec.Struct):
    id: str
    snippet: Snippet = msgspec.field(default_factory=Snippet)


class Channels(msgspec.Struct):
    items: list[Channel] = []


class Video(msgspec.Struct):
    id: str


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


def reason(resp: Response) -> str | None:
    why, message = _errors(resp)
    if message and why:
        return f"{message} ({why})"
    return message or why or None


def until_midnight_pacific(now: float) -> float:
    """Seconds until the YouTube quota resets (midnight America/Los_Angeles)."""
    try:
        zone: Any = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        zone = timezone(timedelta(hours=-8))
    local = datetime.fromtimestamp(now, zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(0.0, midnight.timestamp() - now)


_MEDIA_REASONS = frozenset({"mediaBodyRequired", "invalidFilename", "badContent", "invalidVideo"})


def classify(resp: Response, now: float) -> PlatformError | None:
    """Google's error reasons: https://developers.google.com/youtube/v3/docs/errors"""
    code, message = _errors(resp)
    status = resp.status
    detail = f"{message} ({code})" if message and code else (message or code or f"HTTP {status}")
    if code == "youtubeSignupRequired":
        return RejectedError(
            f"This Google account has no {LABEL} channel. Create one, then reconnect the account.",
            status=status,
        )
    if status == 401:
        return expired(LABEL, status=status)
    if code == "quotaExceeded":
        wait = until_midnight_pacific(now)
        return RateLimitedError(
            f"The {LABEL} API quota of your Google Cloud project is used up (quotaExceeded). "
            f"It resets at midnight Pacific time, in about {max(1, round(wait / 3600))} h.",
            retry_after=wait,
            status=status,
        )
    if code == "uploadLimitExceeded":
        return RateLimitedError(
            f"This {LABEL} channel has reached its upload limit (uploadLimitExceeded). "
            "Try again in about 24 hours.",
            retry_after=24 * 3600.0,
            status=status,
        )
    if code in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
        return RateLimitedError(
            f"{LABEL} rate limit reached: {detail}",
            retry_after=retry_after(resp.headers, now),
            status=status,
        )
    if code == "insufficientPermissions":
        return AuthExpiredError(
            f"{LABEL} did not grant the permission this needs ({code}). Reconnect your "
            "YouTube account and allow uploading videos.",
            status=status,
            refreshable=False,
        )
    if code in _MEDIA_REASONS:
        return MediaError(f"{LABEL} refused the video: {detail}", status=status)
    return None


def stored_bytes(headers: Mapping[str, str]) -> int:
    """Bytes the session holds, from a 308's `Range: bytes=0-N` (no header: none)."""
    match = _RANGE.search(headers.get("Range", ""))
    return int(match.group(1)) + 1 if match else 0


class Api:
    """Authorised calls for one account: a fresh access token, refresh once after a 401."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.bind(LABEL, reason=reason, classify=classify)
        self.token_http = deps.bind(LABEL)
        self.keeper = TokenKeeper(account, deps.clock, self._exchange)

    def credentials(self, raw: Mapping[str, Any] | None = None) -> Credentials:
        return decode_credentials(Credentials, raw or self.account.credentials, LABEL)

    async def call(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        ok: tuple[int, ...] | None = None,
        safe_to_retry: bool | None = None,
        timeout: float | None = None,
    ) -> Response:
        """One call with a fresh access token; after a 401, refresh once and send again.

        `data`: a function building the body, when it is a stream (one per attempt).
        """
        self.credentials()

        async def attempt(raw: dict[str, Any]) -> Response:
            token = self.credentials(raw).access_token
            return await self.http.request(
                method,
                url,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                params=params,
                json=json,
                data=data,
                ok=ok,
                safe_to_retry=safe_to_retry,
                timeout=timeout,
            )

        return await self.keeper.send(attempt)

    async def _exchange(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = self.credentials(current)
        form = {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
            "grant_type": "refresh_token",
        }
        token = await request_token(self.token_http, f"{self.deps.settings.auth_url}/token", form)
        # Google usually sends no new refresh token: the old one is kept
        return rotated(current, token, self.deps.clock(), lifetime=TOKEN_LIFETIME)
