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

from typing import Any, ClassVar

import msgspec

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._text import utf16_length
from octopost.platforms.base import (
    Account,
    BaseAdapter,
    Deps,
    Download,
    Draft,
    Identity,
    Limits,
    Options,
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
    INIT,
    LABEL,
    PRIVATE_FIRST,
    PUBLISH_ID,
    Api,
    CreatorInfo,
    Envelope,
    InitAnswer,
    Status,
    TiktokOptions,
    UploadExpiredError,
    UserInfo,
    failure_error,
    log,
)
from octopost.platforms.tiktok.media import Media, chunk_plan
from octopost.platforms.tiktok.oauth import FLOW

PROFILE = "https://www.tiktok.com/@{username}"
#: UTF-16 units: a video's caption (`post_info.title`), a photo post's `description`
MAX_VIDEO_CAPTION = 2200
MAX_PHOTO_DESCRIPTION = 4000


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


class TiktokAdapter(BaseAdapter):
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
    options: ClassVar[type[Options]] = TiktokOptions
    threading: ClassVar[str] = "first"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-16 code units, as TikTok counts captions."""
        return utf16_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        if draft.video is not None and limits.max_chars > MAX_VIDEO_CAPTION:
            # a video's caption is `post_info.title`: 2,200 UTF-16 units, whatever the source
            limits = msgspec.structs.replace(limits, max_chars=MAX_VIDEO_CAPTION)
        return standard_checks(cls, draft, limits)

    def _options(self) -> TiktokOptions:
        return TiktokOptions.of(self.account.settings, LABEL)

    async def current_limits(self) -> Limits:
        return self.pull_limits if self._options().source == "PULL_FROM_URL" else self.limits

    async def verify(self) -> Identity:
        self._options()
        resp = await self.api.call(
            "GET", "/v2/user/info/", params={"fields": "open_id,display_name,avatar_url"}
        )
        info = resp.decode(Envelope[UserInfo]).data
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
            avatar_url=info.user.avatar_url or creator.creator_avatar_url,
        )

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        settings = self._options()
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
        resp = await self.api.call(
            "POST", "/v2/post/publish/creator_info/query/", safe_to_retry=True
        )
        return resp.decode(Envelope[CreatorInfo]).data

    async def _start(self, draft: Draft, job: PublishJob, settings: TiktokOptions) -> Published:
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
                await self.media.check_duration(download, creator.max_video_post_duration_sec)
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
            resp = await self.api.call("POST", path, json=body, safe_to_retry=False)
            answer = resp.decode(Envelope[InitAnswer]).data
        except OutcomeUnknownError:
            raise
        except PlatformError:
            await job.checkpoint(**{INIT: None})  # refused: nothing was created
            raise
        await job.checkpoint(
            **{PUBLISH_ID: answer.publish_id}, tiktok_upload_url=answer.upload_url, **progress
        )
        if download is not None:
            await self.media.upload(job, download, 0)
        return await self._finish(job)

    async def _status(self, publish_id: str) -> Status:
        return await self.media.status(publish_id)

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
                    await self.media.upload(job, download, uploaded)
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

        status: Status = await self.deps.poll(check, label=LABEL)
        username = job.state.get("tiktok_username") or self.account.username or ""
        profile = PROFILE.format(username=username) if username else "https://www.tiktok.com"
        # a public id exists only for posts visible to others, once moderation passed;
        # SELF_ONLY posts never get one, so the publish_id and the profile URL stand in
        if status.publicaly_available_post_id:
            post_id = str(status.publicaly_available_post_id[0])
            kind = "photo" if job.state.get("tiktok_kind") == "photo" else "video"
            return Published(post_id=post_id, post_url=f"{profile}/{kind}/{post_id}")
        return Published(post_id=publish_id, post_url=profile)
