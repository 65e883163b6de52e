"""TikTok adapter: Content Posting API, Direct Post of one video (or photos from verified URLs).

Docs: https://developers.tiktok.com/doc/content-posting-api-reference-direct-post

- Every publish first queries creator_info: the allowed privacy levels (the account setting
  `privacy_level`, else the most private one allowed), the creator's disabled interactions
  and the longest video they may post.
- Video: `video/init` with FILE_UPLOAD (default; the bytes go to TikTok's upload URL in chunks)
  or PULL_FROM_URL (TikTok downloads the URL itself, which must be on a verified domain).
  Photos: `content/init`, PULL_FROM_URL only, so accounts set to FILE_UPLOAD take videos only.
- Publishing is asynchronous: poll `status/fetch` until PUBLISH_COMPLETE or FAILED.

Never publish twice: init has no idempotency key. The intended source is checkpointed before
init and the publish_id right after it; a retried publish or `recover()` continues that
publish from its status and never calls init again for it. When init's answer is lost, a
FILE_UPLOAD publish can never become a post (only the lost answer held its upload URL), so
sending again is safe; a PULL_FROM_URL or photo publish may exist and cannot be looked up.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from yarl import URL

from octopost.platforms._http import bounded_poll
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
    standard_checks,
)
from octopost.platforms.errors import (
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RejectedError,
)
from octopost.platforms.tiktok.api import (
    LABEL,
    PRIVATE_FIRST,
    CreatorInfo,
    InitAnswer,
    Settings,
    Status,
    TiktokApi,
    UploadExpiredError,
    UserInfo,
    decode_settings,
    failure_error,
    log,
    mp4_duration,
)

#: TikTok's chunk rules: 5-64 MB per chunk (decimal), the remainder merged into the last one
#: https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
CHUNK_SIZE = 10_000_000
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
PROFILE = "https://www.tiktok.com/@{username}"
#: UTF-16 units: a video's caption (`post_info.title`), a photo post's `description`
MAX_VIDEO_CAPTION = 2200
MAX_PHOTO_DESCRIPTION = 4000

# job.state keys
INIT = "tiktok_init"  # the source of the init that was (about to be) sent
PUBLISH_ID = "tiktok_publish_id"


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a FILE_UPLOAD of `size` bytes."""
    if size <= CHUNK_SIZE:
        return size, 1
    return CHUNK_SIZE, size // CHUNK_SIZE


def chunk_ranges(size: int, chunk: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges; the last chunk takes the remainder."""
    count = max(1, size // chunk)
    return [(i * chunk, size - 1 if i == count - 1 else (i + 1) * chunk - 1) for i in range(count)]


def choose_privacy(configured: str | None, options: list[str]) -> str:
    if configured is not None:
        if configured in options:
            return configured
        raise RejectedError(
            f"{LABEL} does not allow privacy_level {configured} for this account; "
            f"allowed: {', '.join(options) or 'none'}."
        )
    for level in PRIVATE_FIRST:
        if level in options:
            return level
    if options:  # a level this code does not know yet: TikTok lists the most open first
        return options[-1]
    raise RejectedError(f"{LABEL} offers no privacy level for this account.")


def _read_range(path: Path, first: int, last: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(first)
        return fh.read(last - first + 1)


def _video_type(download: Download) -> str:
    if download.content_type in VIDEO_TYPES:
        return download.content_type
    guessed = mimetypes.guess_type(download.filename)[0]
    return guessed if guessed in VIDEO_TYPES else "video/mp4"


class TiktokAdapter:
    platform: ClassVar[str] = "tiktok"
    label: ClassVar[str] = LABEL
    #: accounts with source FILE_UPLOAD (the default): one video per post
    limits: ClassVar[Limits] = Limits(
        max_chars=MAX_VIDEO_CAPTION, max_images=0, requires_video=True
    )
    #: accounts with source PULL_FROM_URL: a video, or 1-35 photos TikTok downloads itself
    #: (the photo `description` holds 4,000; `check` holds a video caption to 2,200)
    pull_limits: ClassVar[Limits] = Limits(
        max_chars=MAX_PHOTO_DESCRIPTION, max_images=35, requires_media=True, needs_public_media=True
    )
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://open.tiktokapis.com",
        auth_url="https://open.tiktokapis.com",
        # status/fetch allows 30 requests a minute per token
        poll_interval=3.0,
        poll_timeout=900.0,
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.api = TiktokApi(account, deps)

    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-16 code units, as TikTok counts captions."""
        return len(text.encode("utf-16-le")) // 2

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        if draft.video is not None and limits.max_chars > MAX_VIDEO_CAPTION:
            # a video's caption is `post_info.title`: 2,200 UTF-16 units, whatever the source
            limits = msgspec.structs.replace(limits, max_chars=MAX_VIDEO_CAPTION)
        return standard_checks(cls, draft, limits)

    async def current_limits(self) -> Limits:
        settings = decode_settings(self.account.settings)
        return self.pull_limits if settings.source == "PULL_FROM_URL" else self.limits

    async def verify(self) -> Identity:
        decode_settings(self.account.settings)
        info = await self.api.call(
            "GET",
            "/v2/user/info/",
            UserInfo,
            params={"fields": "open_id,display_name,avatar_url"},
        )
        # the username needs user.info.profile on user/info; creator_info gives it with
        # video.publish, the scope posting needs anyway (so this checks that scope too)
        creator = await self._creator_info()
        username = creator.creator_username or info.user.username or ""
        if not username:
            raise RejectedError(f"{LABEL} did not return the account's username.")
        return Identity(
            username=username,
            display_name=creator.creator_nickname or info.user.display_name,
            remote_id=info.user.open_id or None,
            profile_url=PROFILE.format(username=username),
        )

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        settings = decode_settings(self.account.settings)
        if job.state.get(PUBLISH_ID):
            found = await self._resume(draft, job)
            if found is not None:
                return found
            # that publish ended without a post: starting again is safe
        return await self._start(draft, job, settings)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        if job.state.get(PUBLISH_ID):
            try:
                return await self._resume(draft, job)
            except OutcomeUnknownError:
                raise
            except PlatformError as exc:
                # publish() continues this same publish_id (never a new init) and reports
                # the error properly (a FAILED publish, a 5xx), so handing over is safe
                log.info("%s recover handed over to publish: %s", LABEL, exc.message)
                return None
        intent = job.state.get(INIT)
        if intent is None or intent == "FILE_UPLOAD":
            # nothing sent, or a FILE_UPLOAD publish whose upload URL nobody received
            return None
        raise OutcomeUnknownError(
            f"The request to {LABEL} was sent but its answer was lost, and TikTok offers no "
            f"way to look the post up. Check your {LABEL} profile before posting again."
        )

    # -- steps --------------------------------------------------------------

    async def _creator_info(self) -> CreatorInfo:
        return await self.api.call(
            "POST", "/v2/post/publish/creator_info/query/", CreatorInfo, safe_to_retry=True
        )

    async def _start(self, draft: Draft, job: PublishJob, settings: Settings) -> Published:
        if draft.video is None and not draft.images:
            raise RejectedError(f"{LABEL} needs a video.")
        if draft.video is None and settings.source != "PULL_FROM_URL":
            raise RejectedError(
                f"{LABEL} photo posts need the photos at public URLs on a domain verified for "
                'your TikTok app: set the account setting "source" to "PULL_FROM_URL", or post a video.'
            )
        creator = await self._creator_info()
        privacy = choose_privacy(settings.privacy_level, creator.privacy_level_options)
        username = creator.creator_username or self.account.username or ""
        interactions = {
            "disable_comment": settings.disable_comment or creator.comment_disabled,
            "brand_content_toggle": False,
            "brand_organic_toggle": False,
        }
        download: Download | None = None
        progress: dict[str, Any] = {}
        if draft.video is None:
            kind, source, path = "photo", "PULL_FROM_URL", "/v2/post/publish/content/init/"
            body: dict[str, Any] = {
                "media_type": "PHOTO",
                "post_mode": "DIRECT_POST",
                "post_info": {
                    "description": draft.content,
                    "privacy_level": privacy,
                    "auto_add_music": False,
                    **interactions,
                },
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_cover_index": 0,
                    "photo_images": [image.url for image in draft.images],
                },
            }
        else:
            kind, source, path = "video", settings.source, "/v2/post/publish/video/init/"
            post_info = {
                "title": draft.content,
                "privacy_level": privacy,
                "disable_duet": settings.disable_duet or creator.duet_disabled,
                "disable_stitch": settings.disable_stitch or creator.stitch_disabled,
                **interactions,
            }
            if source == "FILE_UPLOAD":
                download = await job.media.fetch(draft.video.url)
                if download.size == 0:
                    raise MediaError(f"The video at {draft.video.url} is empty.")
                await self._check_duration(download, creator)
                chunk, count = chunk_plan(download.size)
                source_info: dict[str, Any] = {
                    "source": "FILE_UPLOAD",
                    "video_size": download.size,
                    "chunk_size": chunk,
                    "total_chunk_count": count,
                }
                progress = {"tiktok_size": download.size, "tiktok_chunk": chunk}
            else:
                source_info = {"source": "PULL_FROM_URL", "video_url": draft.video.url}
            body = {"post_info": post_info, "source_info": source_info}
        await job.checkpoint(
            **{INIT: source, PUBLISH_ID: None},
            tiktok_kind=kind,
            tiktok_username=username,
            tiktok_upload_url=None,
            tiktok_uploaded=False,
        )
        try:
            answer = await self.api.call("POST", path, InitAnswer, json=body, safe_to_retry=False)
        except OutcomeUnknownError:
            raise
        except PlatformError:
            await job.checkpoint(**{INIT: None})  # refused: nothing was created
            raise
        await job.checkpoint(
            **{PUBLISH_ID: answer.publish_id}, tiktok_upload_url=answer.upload_url, **progress
        )
        if download is not None:
            await self._upload(job, download, 0)
        return await self._finish(job)

    async def _check_duration(self, download: Download, creator: CreatorInfo) -> None:
        limit = creator.max_video_post_duration_sec
        if not limit:
            return
        duration = await asyncio.to_thread(mp4_duration, download.path)
        if duration is not None and duration > limit:
            raise MediaError(
                f"The video is {duration:.0f} s long; this {LABEL} account may post videos of "
                f"at most {limit} s."
            )

    async def _upload(self, job: PublishJob, download: Download, uploaded: int) -> None:
        """PUT the chunks from byte `uploaded` on (a chunk boundary), strictly in order."""
        upload_url = job.state.get("tiktok_upload_url")
        if not upload_url:
            raise MediaError(f"{LABEL} did not return an upload URL.")
        size, chunk = int(job.state["tiktok_size"]), int(job.state["tiktok_chunk"])
        ctype = _video_type(download)
        for first, last in chunk_ranges(size, chunk):
            if last < uploaded:
                continue
            data = await asyncio.to_thread(_read_range, download.path, first, last)
            try:
                await self.api.upload_http.request(
                    "PUT",
                    URL(upload_url, encoded=True),  # signed URL: send it verbatim
                    headers={
                        "Content-Type": ctype,
                        "Content-Range": f"bytes {first}-{last}/{size}",
                    },
                    data=data,
                    ok=(200, 201, 206),
                    timeout=max(self.deps.http.timeout, 60 + len(data) / 1_000_000),
                )
            except PlatformError:
                # The answer may be what failed (a dropped connection, which aiohttp may
                # resend into "already complete"): TikTok's progress decides.
                status = await self._status(str(job.state[PUBLISH_ID]))
                if status.status == "PROCESSING_UPLOAD" and (status.uploaded_bytes or 0) <= last:
                    raise
        await job.checkpoint(tiktok_uploaded=True)

    async def _status(self, publish_id: str) -> Status:
        return await self.api.call(
            "POST",
            "/v2/post/publish/status/fetch/",
            Status,
            json={"publish_id": publish_id},
            safe_to_retry=True,
        )

    async def _resume(self, draft: Draft, job: PublishJob) -> Published | None:
        """Continue the checkpointed publish; None when it ended without a post."""
        status = await self._status(str(job.state[PUBLISH_ID]))
        if status.status == "FAILED":
            error = failure_error(status.fail_reason)
            if not error.retryable:
                raise error
            await self._forget(job)
            return None
        if (
            status.status == "PROCESSING_UPLOAD"
            and job.state.get(INIT) == "FILE_UPLOAD"
            and not job.state.get("tiktok_uploaded")
            and draft.video is not None
        ):
            size = int(job.state["tiktok_size"])
            uploaded = status.uploaded_bytes or 0
            if uploaded < size:
                download = await job.media.fetch(draft.video.url)
                if download.size != size:  # the file changed: that publish cannot complete
                    await self._forget(job)
                    return None
                try:
                    await self._upload(job, download, uploaded)
                except UploadExpiredError:  # that publish never got all its bytes
                    await self._forget(job)
                    return None
        return await self._finish(job, status)

    async def _forget(self, job: PublishJob) -> None:
        await job.checkpoint(
            **{INIT: None, PUBLISH_ID: None}, tiktok_upload_url=None, tiktok_uploaded=False
        )

    async def _finish(self, job: PublishJob, first: Status | None = None) -> Published:
        publish_id = str(job.state[PUBLISH_ID])
        pending = [first] if first is not None else []

        async def check() -> Status | None:
            status = pending.pop() if pending else await self._status(publish_id)
            if status.status in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
                return status
            if status.status == "FAILED":
                raise failure_error(status.fail_reason)
            return None  # PROCESSING_UPLOAD, PROCESSING_DOWNLOAD

        status: Status = await bounded_poll(
            check,
            interval=self.deps.settings.poll_interval,
            timeout=self.deps.settings.poll_timeout,
            sleep=self.deps.sleep,
            what="processing",
            label=LABEL,
        )
        username = job.state.get("tiktok_username") or self.account.username or ""
        profile = PROFILE.format(username=username) if username else "https://www.tiktok.com"
        # a public id exists only for posts visible to others, once moderation passed;
        # SELF_ONLY posts never get one, so the publish_id and the profile URL stand in
        if status.publicaly_available_post_id:
            post_id = str(status.publicaly_available_post_id[0])
            kind = "photo" if job.state.get("tiktok_kind") == "photo" else "video"
            return Published(post_id=post_id, post_url=f"{profile}/{kind}/{post_id}")
        return Published(post_id=publish_id, post_url=profile)
