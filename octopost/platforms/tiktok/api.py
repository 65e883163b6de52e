"""TikTok Content Posting API plumbing: wire structs, error translation, authorised calls.

Every answer is an envelope `{"data": {...}, "error": {"code", "message", "log_id"}}` and
anything but `code == "ok"` is a failure, even with HTTP 200 (creator_info sends its spam
errors that way): https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
Access tokens are short-lived and refresh tokens rotate (the old one dies once a new one is
issued), so a refresh goes through `Account.refresh`, which stores the new pair before use.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

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

log = logging.getLogger("octopost.platforms.tiktok")

LABEL = "TikTok"
AUTH_EXPIRED = "Token expired. Reconnect your TikTok account."
#: refresh this many seconds before the recorded expiry
EXPIRY_MARGIN = 60.0
#: TikTok documents 429 `rate_limit_exceeded` on a one-minute sliding window, no reset header
RATE_WINDOW = 60.0

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


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
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


class Envelope(msgspec.Struct):
    data: Any = None
    error: ApiError = msgspec.field(default_factory=ApiError)


class Token(msgspec.Struct):
    access_token: str = ""
    refresh_token: str = ""
    expires_in: float | None = None
    open_id: str | None = None
    error: str | None = None
    error_description: str | None = None


class CreatorInfo(msgspec.Struct):
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


T = TypeVar("T")


def convert(data: Any, kind: type[T], what: str) -> T:
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise UnavailableError(f"{LABEL} sent an unexpected {what} answer: {exc}") from exc


def decode_settings(raw: Mapping[str, Any]) -> Settings:
    try:
        return msgspec.convert(dict(raw), Settings)
    except msgspec.ValidationError as exc:
        raise RejectedError(f"Invalid {LABEL} account settings: {exc}") from exc


class TokenInvalidError(AuthExpiredError):
    """`access_token_invalid`: refresh once and retry; escapes as a plain auth error."""


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
        return AuthExpiredError(AUTH_EXPIRED)
    if reason == "publish_cancelled":
        return RejectedError(f"{LABEL} cancelled the post (publish_cancelled).")
    return RejectedError(f"{LABEL} rejected the post ({reason}).")


def error_reason(resp: Response) -> str | None:
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
        return TokenInvalidError(AUTH_EXPIRED, status=status)
    if code in ("scope_not_authorized", "scope_permission_missed"):
        return AuthExpiredError(
            f"{LABEL} did not grant the permission this needs ({code}). Reconnect your "
            "TikTok account and allow video.publish.",
            status=status,
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


def classify_upload(resp: Response) -> PlatformError | None:
    """Answers of the upload URL (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide)."""
    if resp.status == 403:
        return UploadExpiredError(f"{LABEL} upload URL expired", status=403)
    if resp.status == 416:
        # out of step with TikTok's progress: a retried publish resumes from the status
        return UnavailableError(f"{LABEL} upload is out of step (HTTP 416)", status=416)
    if resp.status in (400, 404, 413, 415):
        return MediaError(
            f"{LABEL} refused the video upload: {error_reason(resp) or f'HTTP {resp.status}'}",
            status=resp.status,
        )
    return None


class UploadExpiredError(UnavailableError):
    """The upload URL (valid one hour) expired: that publish can never complete."""


class TiktokApi:
    """Authorised TikTok calls for one account: envelope checks, refresh-once on expiry."""

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.http.bind(
            LABEL, reason=error_reason, classify=lambda r: classify(r, deps.clock())
        )
        self.upload_http = deps.http.bind(LABEL, reason=error_reason, classify=classify_upload)
        base = deps.settings.base_url
        self.base = base
        self.token_url = f"{deps.settings.auth_url or base}/v2/oauth/token/"

    def credentials(self) -> Credentials:
        return decode_credentials(Credentials, self.account.credentials, LABEL)

    async def call(
        self,
        method: str,
        path: str,
        kind: type[T],
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
        what: str = "",
    ) -> T:
        """One API call; `data` of the envelope decoded as `kind`. Refreshes the token once."""
        for attempt in (1, 2):
            stale = dict(self.account.credentials)
            creds = self.credentials()
            if not creds.access_token or (
                creds.expires_at is not None
                and creds.expires_at - EXPIRY_MARGIN <= self.deps.clock()
            ):
                creds = await self.refresh(stale)
                stale = dict(self.account.credentials)
            headers = {
                "Authorization": f"Bearer {creds.access_token}",
                "Content-Type": "application/json; charset=UTF-8",
            }
            try:
                resp = await self.http.request(
                    method,
                    f"{self.base}{path}",
                    headers=headers,
                    params=params,
                    json=json if json is not None else ({} if method == "POST" else None),
                    safe_to_retry=safe_to_retry,
                )
                return self._data(resp, kind, what or path)
            except TokenInvalidError:
                if attempt == 2:
                    raise
                await self.refresh(stale)
        raise AssertionError("unreachable")

    def _data(self, resp: Response, kind: type[T], what: str) -> T:
        try:
            envelope = msgspec.json.decode(resp.body, type=Envelope)
        except msgspec.DecodeError as exc:
            raise UnavailableError(
                f"{LABEL} sent an unreadable answer (HTTP {resp.status})", status=resp.status
            ) from exc
        if envelope.error.code != "ok":  # errors with HTTP 200
            raise api_error(
                envelope.error.code,
                envelope.error.message,
                resp.status,
                resp.headers,
                self.deps.clock(),
            )
        return convert(envelope.data if envelope.data is not None else {}, kind, what)

    async def refresh(self, stale: Mapping[str, Any]) -> Credentials:
        """Refresh once per account (rotated refresh token stored before the new token is used)."""
        new = await self.account.refresh(stale, self._refresh)
        return decode_credentials(Credentials, new, LABEL)

    async def _refresh(self, current: dict[str, Any]) -> dict[str, Any]:
        creds = decode_credentials(Credentials, current, LABEL)
        form = {
            "client_key": creds.client_key,
            "client_secret": creds.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
        }
        try:
            # A lost answer is not an unknown *post*: at worst the old refresh token is spent.
            resp = await self.http.request(
                "POST",
                self.token_url,
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                safe_to_retry=True,
            )
        except (AuthExpiredError, RejectedError) as exc:
            raise AuthExpiredError(AUTH_EXPIRED, status=exc.status) from exc
        token = convert(resp.json() or {}, Token, "token")
        # OAuth errors may come with HTTP 200: {"error": "invalid_grant", "error_description": ...}
        if token.error or not token.access_token:
            log.info("tiktok refresh refused: %s", token.error_description or token.error)
            raise AuthExpiredError(AUTH_EXPIRED, status=resp.status)
        new = dict(current)
        new["access_token"] = token.access_token
        new["refresh_token"] = token.refresh_token or creds.refresh_token
        if token.expires_in is not None:
            new["expires_at"] = self.deps.clock() + float(token.expires_in)
        else:
            new.pop("expires_at", None)
        if token.open_id:
            new["open_id"] = token.open_id
        return new


def mp4_duration(path: Path) -> float | None:
    """Duration in seconds from the MP4/MOV `moov/mvhd` box; None when it cannot be read."""
    try:
        with path.open("rb") as fh:
            moov = _find_box(fh, b"moov", 0, path.stat().st_size)
            if moov is None:
                return None
            mvhd = _find_box(fh, b"mvhd", *moov)
            if mvhd is None:
                return None
            fh.seek(mvhd[0])
            head = fh.read(32)
            if head[:1] == b"\x01":
                timescale, duration = struct.unpack(">IQ", head[20:32])
            else:
                timescale, duration = struct.unpack(">II", head[12:20])
    except (OSError, struct.error):
        return None
    return duration / timescale if timescale else None


def _find_box(fh: Any, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(payload start, payload end) of the first `kind` box between `start` and `end`."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        header = fh.read(16)
        if len(header) < 8:
            return None
        size, name = struct.unpack(">I4s", header[:8])
        offset = 8
        if size == 1:
            if len(header) < 16:
                return None
            size = struct.unpack(">Q", header[8:16])[0]
            offset = 16
        elif size == 0:
            size = end - pos
        if size < offset:
            return None
        if name == kind:
            return pos + offset, min(pos + size, end)
        pos += size
    return None
