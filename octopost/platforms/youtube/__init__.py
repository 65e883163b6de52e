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
from typing import Any, ClassVar

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._text import utf8_length
from octopost.platforms.base import (
    Account,
    BaseAdapter,
    Deps,
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
    UnavailableError,
)
from octopost.platforms.youtube.api import (
    LABEL,
    SESSION,
    VIDEO_ID,
    Api,
    Channels,
    Thumbnail,
    YoutubeOptions,
)
from octopost.platforms.youtube.media import Media
from octopost.platforms.youtube.oauth import FLOW
from octopost.platforms.youtube.text import sanitize, video_title

log = logging.getLogger("octopost.platforms.youtube")

WATCH = "https://www.youtube.com/watch?v={id}"


class YoutubeAdapter(BaseAdapter):
    platform: ClassVar[str] = "youtube"
    label: ClassVar[str] = LABEL
    #: max_chars is the description's 5,000 UTF-8 bytes (see measure)
    limits: ClassVar[Limits] = Limits(max_chars=5000, max_images=0, requires_video=True)
    options: ClassVar[type[Options]] = YoutubeOptions
    threading: ClassVar[str] = "first"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-8 bytes of the description as sent (`<`/`>` replaced)."""
        return utf8_length(sanitize(text))

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        size = cls.measure(draft.content)
        # the shared length message would call these bytes "characters": say it exactly
        problems = [
            p for p in standard_checks(cls, draft, limits) if not p.startswith("Content is ")
        ]
        if size > limits.max_chars:
            problems.insert(
                0,
                f"The description is {size} bytes in UTF-8; {LABEL} allows {limits.max_chars} "
                "bytes (accented letters, emoji and non-Latin characters take 2-4 bytes each).",
            )
        if not video_title(draft.content):
            problems.append(
                f"{LABEL} needs a title: the post's first line becomes the video title, "
                "and the post has no text."
            )
        return problems

    async def verify(self) -> Identity:
        self._options()
        resp = await self.api.call(
            "GET",
            f"{self.deps.settings.base_url}/youtube/v3/channels",
            params={"part": "snippet", "mine": "true"},
        )
        channels = resp.decode(Channels)
        if not channels.items:
            raise RejectedError(
                f"This Google account has no {LABEL} channel. Create one, then connect the account again."
            )
        wanted = self.api.credentials().channel_id
        channel = next((c for c in channels.items if c.id == wanted), None) if wanted else None
        if wanted and channel is None:
            raise RejectedError(
                f"This Google grant no longer covers the {LABEL} channel {wanted}: connect "
                "the channel again (pick it in Google's account chooser)."
            )
        channel = channel or channels.items[0]
        handle = (channel.snippet.customUrl or "").lstrip("@")
        return Identity(
            username=handle or channel.id,
            display_name=channel.snippet.title or None,
            remote_id=channel.id,
            profile_url=f"https://www.youtube.com/@{handle}"
            if handle
            else f"https://www.youtube.com/channel/{channel.id}",
            avatar_url=channel.snippet.thumbnails.get("default", Thumbnail()).url or None,
        )

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        settings = self._options()
        found = await self._continue(draft, job)
        if found is not None:
            return found
        return await self._start(draft, job, settings)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        try:
            return await self._continue(draft, job)
        except OutcomeUnknownError:
            raise
        except PlatformError as exc:
            # publish() continues this same session (never a second one) and reports the
            # error properly, so handing over to it is safe
            log.info("%s recover handed over to publish: %s", LABEL, exc.message)
            return None

    async def _continue(self, draft: Draft, job: PublishJob) -> Published | None:
        """The checkpointed upload, finished; None when no video can exist from it."""
        if job.state.get(VIDEO_ID):
            return await self._done(draft, job, str(job.state[VIDEO_ID]))
        if not job.state.get(SESSION):
            return None  # no session, no bytes: no video can exist
        video_id, stored = await self.media.query(job)
        if video_id is None:
            if draft.video is None:
                raise RejectedError(f"{LABEL} needs a video.")
            download = await job.media.fetch(draft.video.url)
            if download.size != int(job.state["youtube_size"]):
                # the file changed; the unfinished session can never become a video
                await job.checkpoint(**{SESSION: None})
                return None
            video_id = await self.media.upload(job, download, stored)
        return await self._done(draft, job, video_id)

    # -- steps ----------------------------------------------------------------

    def _options(self) -> YoutubeOptions:
        return YoutubeOptions.of(self.account.settings, LABEL)

    async def _start(self, draft: Draft, job: PublishJob, settings: YoutubeOptions) -> Published:
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
        snippet: dict[str, Any] = {
            "title": title,
            "description": sanitize(draft.content),
            "categoryId": settings.category_id,
        }
        if draft.language:
            # the language of the title and description; the spoken language
            # (defaultAudioLanguage) is the video's, which the post's text does not tell
            snippet["defaultLanguage"] = draft.language
        metadata = {
            "snippet": snippet,
            "status": {
                "privacyStatus": settings.privacy,
                "selfDeclaredMadeForKids": settings.made_for_kids,
            },
        }
        params = {"uploadType": "resumable", "part": "snippet,status"}
        if not settings.notify_subscribers:
            params["notifySubscribers"] = "false"
        resp = await self.api.call(
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
        video_id = await self.media.upload(job, download, 0)
        return await self._done(draft, job, video_id)

    async def _done(self, draft: Draft, job: PublishJob, video_id: str) -> Published:
        await job.checkpoint(**{VIDEO_ID: video_id})
        thumbnail = draft.video.thumbnail_url if draft.video else None
        if thumbnail and not job.state.get("youtube_thumbnail"):
            try:
                await self.media.thumbnail(job, video_id, thumbnail)
            except PlatformError as exc:
                log.warning(
                    "%s video %s is published; its thumbnail was not set: %s", LABEL, video_id, exc
                )
        return Published(post_id=video_id, post_url=WATCH.format(id=video_id))
