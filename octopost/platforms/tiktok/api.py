"""TikTok Content Posting API plumbing: wire structs, error translation, authorised calls.

Every answer is an envelope `{"data": {...}, "error": {"code", "message", "log_id"}}` and
anything but `code == "ok"` is a failure, even with HTTP 200 (creator_info sends its spam
errors that way): https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
Access tokens are short-lived and refresh tokens rotate (the old one dies once a new one is
issued), so a refresh goes through `_oauth.py`, which stores the new pair before use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

import msgspec

from octopost.platforms._http import Response, expired, retry_after
from octopost.platforms._oauth import Token, TokenKeeper, request_token, rotated
from octopost.platforms.base import Account, Deps, Options, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

log = logging.getLogger("octopost.platforms.tiktok")

LABEL = "TikTok"
#: TikTok documents 429 `rate_limit_exceeded` on a one-minute sliding window, no reset header
RATE_WINDOW = 60.0
#: the token endpoint, on `auth_url` (default: the API host)
TOKEN_PATH = "/v2/oauth/token/"
#: an access token's life when an answer does not say (24 h; 2 h under the 2026 rules)
TOKEN_LIFETIME = 86_400.0

# job.state keys
INIT = "tiktok_init"  # the source of the init that was (about to be) sent
PUBLISH_ID = "tiktok_publish_id"

T = TypeVar("T")

Privacy = Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
#: most private first: the default is the first of these the creator allows
PRIVATE_FIRST: tuple[str, ...] = (
    "SELF_ONLY",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "PUBLIC_TO_EVERYONE",
)


class Credentials(msgspec.Struct, kw_only=True):
    client_key: str
    client_secret: str
    refresh_token: str
    #: obtained with the refresh token when absent
    access_token: str | None = None
    #: epoch seconds
    expires_at: float | None = None
    open_id: str | None = None


class TiktokOptions(Options):
    #: None: the most private level the creator allows
    privacy_level: Privacy | None = None
    #: PULL_FROM_URL only when media URLs are on a domain verified for the app
    source: Literal["FILE_UPLOAD", "PULL_FROM_URL"] = "FILE_UPLOAD"
    disable_comment: bool = False
    disable_duet: bool = False
    disable_stitch: bool = False


class ApiError(msgspec.Struct):
    code: str = "ok"
    message: str = ""
    log_id: str = ""


class Reply(msgspec.Struct):
    """The envelope's error, which every answer carries (`code` "ok": no error)."""

    error: ApiError = msgspec.field(default_factory=ApiError)


class Envelope(msgspec.Struct, Generic[T]):
    """The envelope of an answer that succeeded: `resp.decode(Envelope[Kind]).data`."""

    data: T


class TiktokToken(Token):
    open_id: str | None = None


class CreatorInfo(msgspec.Struct):
    creator_avatar_url: str | None = None
    creator_username: str = ""
    creator_nickname: str = ""
    privacy_level_options: list[str] = []
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_post_duration_sec: int | None = None


class User(msgspec.Struct):
    open_id: str = ""
    display_name: str | None = None
    username: str | None = None
    avatar_url: str | None = None


class UserInfo(msgspec.Struct):
    user: User


class InitAnswer(msgspec.Struct):
    publish_id: str
    upload_url: str | None = None


class Status(msgspec.Struct):
    status: str
    fail_reason: str | None = None
    publicaly_available_post_id: list[int] = []  # sic: TikTok's spelling
    uploaded_bytes: int | None = None


# fail_reason values of a FAILED publish: https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
_MEDIA_FAILURES = {
    "file_format_check_failed": "its format was refused",
    "duration_check_failed": "its duration is not allowed",
    "frame_rate_check_failed": "its frame rate is not supported",
    "picture_size_check_failed": "its picture size is not supported",
    "video_pull_failed": "TikTok could not download the video from its URL",
    "photo_pull_failed": "TikTok could not download a photo from its URL",
}


def failure_error(reason: str | None) -> PlatformError:
    """The error for a publish that ended in FAILED."""
    reason = reason or "unknown"
    if reason in _MEDIA_FAILURES:
        return MediaError(f"{LABEL} refused the media: {_MEDIA_FAILURES[reason]} ({reason}).")
    if reason == "internal":
        return UnavailableError(f"{LABEL} failed to process the post (internal error).")
    if reason == "auth_removed":
        return expired(LABEL)
    if reason == "publish_cancelled":
        return RejectedError(f"{LABEL} cancelled the post (publish_cancelled).")
    return RejectedError(f"{LABEL} rejected the post ({reason}).")


def reason(resp: Response) -> str | None:
    """`error.message` (or `error.code`) of the envelope; OAuth's `error_description`."""
    data = resp.json()
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, dict):
        message = str(err.get("message") or "").strip()
        code = str(err.get("code") or "").strip()
        return f"{message} ({code})" if message and code else (message or code or None)
    if isinstance(err, str):
        return str(data.get("error_description") or err)
    return None


def api_error(
    code: str, message: str, status: int, headers: Mapping[str, str], now: float
) -> PlatformError:
    """Map an envelope error code (whatever the HTTP status) to the error class."""
    detail = f"{message} ({code})" if message else code
    if code == "access_token_invalid":
        return expired(LABEL, status=status)
    if code in ("scope_not_authorized", "scope_permission_missed"):
        return AuthExpiredError(
            f"{LABEL} did not grant the permission this needs ({code}). Reconnect your "
            "TikTok account and allow video.publish.",
            status=status,
            refreshable=False,
        )
    if code == "rate_limit_exceeded" or status == 429:
        delay = retry_after(headers, now)
        return RateLimitedError(
            f"{LABEL} rate limit reached: {detail}",
            retry_after=RATE_WINDOW if delay is None else delay,
            status=status,
        )
    if code == "url_ownership_unverified":
        return MediaError(
            f"{LABEL} will not pull media from this URL: its domain is not verified for the "
            "app (url_ownership_unverified). Verify it in the TikTok developer portal, or set "
            'the account setting "source" to "FILE_UPLOAD".',
            status=status,
        )
    if code in ("invalid_file_upload",):
        return MediaError(f"{LABEL} refused the media: {detail}", status=status)
    if code == "internal_error" or status >= 500:
        return UnavailableError(f"{LABEL} is unavailable: {detail}", status=status)
    return RejectedError(f"{LABEL} rejected the post: {detail}", status=status)


def classify(resp: Response, now: float) -> PlatformError | None:
    """Errors of the API envelope (any HTTP status) and of OAuth answers."""
    data = resp.json()
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, dict) and str(err.get("code") or "ok") != "ok":
        return api_error(
            str(err["code"]), str(err.get("message") or ""), resp.status, resp.headers, now
        )
    return None


def classify_upload(resp: Response, now: float) -> PlatformError | None:
    """Answers of the upload URL (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide)."""
    if resp.status == 403:
        return UploadExpiredError(f"{LABEL} upload URL expired", status=403)
    if resp.status == 416:
        # out of step with TikTok's progress: a retried publish resumes from the status
        return UnavailableError(f"{LABEL} upload is out of step (HTTP 416)", status=416)
    if resp.status in (400, 404, 413, 415):
        return MediaError(
            f"{LABEL} refused the video upload: {reason(resp) or f'HTTP {resp.status}'}",
            status=resp.status,
        )
    return None


class UploadExpiredError(UnavailableError):
    """The upload URL (valid one hour) expired: that publish can never complete."""


class Api:
    """Authorised TikTok calls for one account: envelope checks, refresh-once on expiry."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.bind(LABEL, reason=reason, classify=classify)
        self.upload_http = deps.bind(LABEL, reason=reason, classify=classify_upload)
        self.keeper = TokenKeeper(account, deps.clock, self._exchange)

    def credentials(self, raw: Mapping[str, Any] | None = None) -> Credentials:
        return decode_credentials(Credentials, raw or self.account.credentials, LABEL)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
    ) -> Response:
        """One API call; an envelope error is raised even with HTTP 200 (creator_info sends
        its spam errors that way). Refreshes the token once."""
        self.credentials()

        async def attempt(raw: dict[str, Any]) -> Response:
            headers = {
                "Authorization": f"Bearer {self.credentials(raw).access_token}",
                "Content-Type": "application/json; charset=UTF-8",
            }
            resp = await self.http.request(
                method,
                f"{self.deps.settings.base_url}{path}",
                headers=headers,
                params=params,
                json=json if json is not None else ({} if method == "POST" else None),
                safe_to_retry=safe_to_retry,
            )
            error = resp.decode(Reply).error
            if error.code != "ok":
                raise api_error(
                    error.code, error.message, resp.status, resp.headers, self.deps.clock()
                )
            return resp

        return await self.keeper.send(attempt)

    async def _exchange(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = self.credentials(current)
        form = {
            "client_key": creds.client_key,
            "client_secret": creds.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
        }
        url = f"{self.deps.settings.auth_url or self.deps.settings.base_url}{TOKEN_PATH}"
        token = await request_token(self.http, url, form, kind=TiktokToken)
        # the refresh token rotates: the old one dies once the new one is issued
        new = rotated(current, token, self.deps.clock())
        if token.open_id:
            new["open_id"] = token.open_id
        return new
