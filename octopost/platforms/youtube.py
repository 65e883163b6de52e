"""YouTube adapter: Data API v3 `videos.insert` through the resumable upload protocol.

Docs: https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol

- OAuth 2.0: a long-lived refresh token (Google does not rotate it) buys one-hour access
  tokens at `{auth_url}/token`; they are cached in the credentials with `expires_at`.
- Publish: POST the metadata (title = the post's first line, description = the whole post)
  -> a session URI (checkpointed) -> PUT the bytes. An interrupted PUT is resumed: the session
  answers `Content-Range: bytes */total` with 308 + `Range: bytes=0-N` (resume at N+1) or
  with the finished video resource. No bytes, no video: a lost session answer is harmless.
- The video URL is known as soon as the upload completes; YouTube processes the video
  afterwards (not awaited). An optional thumbnail is set after the upload; failing to set it
  never fails the publish (the video exists).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from yarl import URL

from octopost.platforms._http import Response, retry_after
from octopost.platforms.base import (
    Account,
    Deps,
    Download,
    Draft,
    Identity,
    Limits,
    PlatformSettings,
    Published,
    PublishJob,
    decode_credentials,
    standard_checks,
)
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
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
#: Google's recommended piece size for streaming and resumable chunks (a 256 KiB multiple)
PIECE = 8 * 262_144
#: PUT / status-query rounds within one publish before the error goes to the publisher
RESUME_ROUNDS = 4
THUMBNAIL_MAX = 2 * 1024 * 1024
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png"})
WATCH = "https://www.youtube.com/watch?v={id}"

# job.state keys
SESSION = "youtube_session"
VIDEO_ID = "youtube_video_id"

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


class YoutubeAdapter:
    platform: ClassVar[str] = "youtube"
    label: ClassVar[str] = LABEL
    #: max_chars is the description's 5,000 UTF-8 bytes (see measure)
    limits: ClassVar[Limits] = Limits(max_chars=5000, max_images=0, requires_video=True)
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://www.googleapis.com",
        upload_url="https://www.googleapis.com/upload",
        auth_url="https://oauth2.googleapis.com",
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.http.bind(
            LABEL, reason=error_reason, classify=lambda r: classify(r, deps.clock())
        )
        self.token_http = deps.http.bind(LABEL)

    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-8 bytes of the description as sent (`<`/`>` replaced)."""
        return len(sanitize(text).encode("utf-8"))

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        if not video_title(draft.content):
            problems.append(
                f"{LABEL} needs a title: the post's first line becomes the video title, "
                "and the post has no text."
            )
        return problems

    async def current_limits(self) -> Limits:
        return self.limits

    async def verify(self) -> Identity:
        self._settings()
        resp = await self._authed(
            "GET",
            f"{self.deps.settings.base_url}/youtube/v3/channels",
            params={"part": "snippet", "mine": "true"},
        )
        channels = _decode(resp, Channels)
        if not channels.items:
            raise RejectedError(
                f"This Google account has no {LABEL} channel. Create one, then connect the account again."
            )
        channel = channels.items[0]
        handle = (channel.snippet.customUrl or "").lstrip("@")
        return Identity(
            username=handle or channel.id,
            display_name=channel.snippet.title or None,
            remote_id=channel.id,
            profile_url=f"https://www.youtube.com/@{handle}"
            if handle
            else f"https://www.youtube.com/channel/{channel.id}",
        )

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        settings = self._settings()
        if job.state.get(VIDEO_ID) or job.state.get(SESSION):
            found = await self.recover(draft, job)
            if found is not None:
                return found
        return await self._start(draft, job, settings)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        if job.state.get(VIDEO_ID):
            return await self._done(draft, job, str(job.state[VIDEO_ID]))
        if not job.state.get(SESSION):
            return None  # no session, no bytes: no video can exist
        video_id, stored = await self._query(job)
        if video_id is None:
            if draft.video is None:
                raise RejectedError(f"{LABEL} needs a video.")
            download = await job.media.fetch(draft.video.url)
            if download.size != int(job.state["youtube_size"]):
                # the file changed; the unfinished session can never become a video
                await job.checkpoint(**{SESSION: None})
                return None
            video_id = await self._upload(job, download, stored)
        return await self._done(draft, job, video_id)

    # -- steps ----------------------------------------------------------------

    def _settings(self) -> Settings:
        try:
            return msgspec.convert(dict(self.account.settings), Settings)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid {LABEL} account settings: {exc}") from exc

    async def _start(self, draft: Draft, job: PublishJob, settings: Settings) -> Published:
        if draft.video is None:
            raise RejectedError(f"{LABEL} needs a video.")
        title = video_title(draft.content)
        if not title:
            raise RejectedError(
                f"{LABEL} needs a title: the post's first line becomes the video title."
            )
        download = await job.media.fetch(draft.video.url)
        if download.size == 0:
            raise MediaError(f"The video at {draft.video.url} is empty.")
        ctype = download.content_type
        if not ctype.startswith("video/"):
            ctype = "application/octet-stream"
        metadata = {
            "snippet": {
                "title": title,
                "description": sanitize(draft.content),
                "categoryId": settings.category_id,
            },
            "status": {
                "privacyStatus": settings.privacy,
                "selfDeclaredMadeForKids": settings.made_for_kids,
            },
        }
        params = {"uploadType": "resumable", "part": "snippet,status"}
        if not settings.notify_subscribers:
            params["notifySubscribers"] = "false"
        resp = await self._authed(
            "POST",
            f"{self.deps.settings.upload_url}/youtube/v3/videos",
            params=params,
            json=metadata,
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "X-Upload-Content-Length": str(download.size),
                "X-Upload-Content-Type": ctype,
            },
            # a session without bytes never becomes a video: repeating is harmless
            safe_to_retry=True,
        )
        location = resp.headers.get("Location")
        if not location:
            raise UnavailableError(f"{LABEL} did not return an upload session.")
        await job.checkpoint(
            **{SESSION: location, VIDEO_ID: None}, youtube_size=download.size, youtube_type=ctype
        )
        video_id = await self._upload(job, download, 0)
        return await self._done(draft, job, video_id)

    async def _upload(self, job: PublishJob, download: Download, offset: int | None) -> str:
        """Send the bytes from `offset` (None: ask the session first) until the video exists."""
        failure: PlatformError | None = None
        for attempt in range(RESUME_ROUNDS):
            if offset is None:
                video_id, offset = await self._query(job)
                if video_id is not None:
                    return video_id
            try:
                resp = await self._put(job, download, offset)
            except UnavailableError as exc:  # dropped connection or 5xx: resume
                failure, offset = exc, None
                await self.deps.sleep(exc.retry_after or min(2.0**attempt, 8.0))
                continue
            if resp.status in (200, 201):
                return _decode(resp, Video).id
            offset = stored_bytes(resp.headers)  # 308: the session kept fewer bytes
        raise failure or UnavailableError(f"The {LABEL} upload did not complete.")

    async def _put(self, job: PublishJob, download: Download, offset: int) -> Response:
        size = int(job.state["youtube_size"])

        def body() -> AsyncIterator[bytes]:
            return download.chunks(PIECE, offset)

        return await self._authed(
            "PUT",
            URL(str(job.state[SESSION]), encoded=True),
            headers={
                "Content-Type": str(job.state.get("youtube_type") or "application/octet-stream"),
                "Content-Length": str(size - offset),
                "Content-Range": f"bytes {offset}-{size - 1}/{size}",
            },
            body=body,
            ok=(200, 201, 308),
            request_timeout=max(self.deps.http.timeout, 60 + (size - offset) / 1_000_000),
        )

    async def _query(self, job: PublishJob) -> tuple[str | None, int]:
        """(video id, size) when the upload completed, else (None, bytes stored)."""
        size = int(job.state["youtube_size"])
        resp = await self._authed(
            "PUT",
            URL(str(job.state[SESSION]), encoded=True),
            headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"},
            ok=(200, 201, 308, 404, 410),
        )
        if resp.status in (200, 201):
            return _decode(resp, Video).id, size
        if resp.status == 308:
            return None, stored_bytes(resp.headers)
        raise OutcomeUnknownError(
            f"{LABEL} no longer knows the upload session, so whether the video was published "
            f"cannot be told. Check your {LABEL} channel before posting again."
        )

    async def _done(self, draft: Draft, job: PublishJob, video_id: str) -> Published:
        await job.checkpoint(**{VIDEO_ID: video_id})
        thumbnail = draft.video.thumbnail_url if draft.video else None
        if thumbnail and not job.state.get("youtube_thumbnail"):
            try:
                await self._thumbnail(job, video_id, thumbnail)
            except PlatformError as exc:
                log.warning(
                    "%s video %s is published; its thumbnail was not set: %s", LABEL, video_id, exc
                )
        return Published(post_id=video_id, post_url=WATCH.format(id=video_id))

    async def _thumbnail(self, job: PublishJob, video_id: str, url: str) -> None:
        image = await job.media.fetch(url)
        if image.content_type not in THUMBNAIL_TYPES or image.size > THUMBNAIL_MAX:
            raise MediaError(f"a thumbnail must be a JPEG or PNG of at most 2 MB ({url})")
        await self._authed(
            "POST",
            f"{self.deps.settings.upload_url}/youtube/v3/thumbnails/set",
            params={"videoId": video_id, "uploadType": "media"},
            headers={"Content-Type": image.content_type},
            body=image.read,
            safe_to_retry=True,  # setting the same thumbnail twice is harmless
        )
        await job.checkpoint(youtube_thumbnail=True)

    # -- auth -----------------------------------------------------------------

    async def _authed(
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
                creds = await self._refresh(stale)
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
                await self._refresh(stale)
        raise AssertionError("unreachable")

    async def _refresh(self, stale: Mapping[str, Any]) -> Credentials:
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
        token = _decode(resp, Token)
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


def _decode(resp: Response, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(resp.body, type=kind)
    except msgspec.DecodeError as exc:
        raise UnavailableError(
            f"{LABEL} sent an unexpected answer (HTTP {resp.status})", status=resp.status
        ) from exc
