"""LinkedIn media: the Images and Videos APIs.

Images: initializeUpload -> PUT bytes -> poll until AVAILABLE; one image is
`content.media`, 2-20 are `content.multiImage`. Video: initializeUpload -> PUT each part
(byte ranges chosen by LinkedIn, ETags kept) -> finalizeUpload -> poll until AVAILABLE.
Uploaded media URNs are checkpointed, so a retried publish does not upload again.
https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from yarl import URL

from octopost.platforms._files import read_range
from octopost.platforms.base import Draft, ImageRef, PublishJob, VideoRef
from octopost.platforms.errors import MediaError
from octopost.platforms.linkedin.api import (
    LABEL,
    OCTET_STREAM,
    Api,
    ImageUploadAnswer,
    MediaStatus,
    VideoUploadAnswer,
)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})


class Media:
    """The media of one publish."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps

    async def content(self, draft: Draft, job: PublishJob, author: str) -> dict[str, Any] | None:
        """The `content` of the post: uploaded images or video, once each (checkpointed)."""
        if draft.video is not None:
            return {"media": {"id": await self._video(draft.video, job, author)}}
        if not draft.images:
            return None
        entries = []
        for index, image in enumerate(draft.images):
            entry = {"id": await self._image(index, image, job, author)}
            if image.alt_text:
                entry["altText"] = image.alt_text
            entries.append(entry)
        for entry in entries:
            await self._wait_available("images", entry["id"], job)
        if len(entries) == 1:
            return {"media": entries[0]}
        return {"multiImage": {"images": entries}}

    async def _image(self, index: int, image: ImageRef, job: PublishJob, author: str) -> str:
        uploaded = dict(job.state.get("image_urns") or {})
        if uploaded.get(str(index)):
            return str(uploaded[str(index)])
        download = await job.media.fetch(image.url)
        if download.content_type not in IMAGE_TYPES:
            raise MediaError(
                f"{LABEL} takes JPEG, PNG or GIF images; {image.url} is {download.content_type}."
            )
        resp = await self.api.call(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": author}},
            safe_to_retry=True,  # creates an upload slot, never a post
        )
        upload = resp.decode(ImageUploadAnswer).value
        data = await asyncio.to_thread(download.read)
        await self.api.call(
            "PUT", URL(upload.uploadUrl, encoded=True), data=data, headers=OCTET_STREAM
        )
        uploaded[str(index)] = upload.image
        await job.checkpoint(image_urns=uploaded)
        return upload.image

    async def _video(self, video: VideoRef, job: PublishJob, author: str) -> str:
        urn = job.state.get("video_urn")
        if not urn:
            urn = await self._upload_video(video, job, author)
            await job.checkpoint(video_urn=urn)
        await self._wait_available("videos", urn, job)
        return str(urn)

    async def _upload_video(self, video: VideoRef, job: PublishJob, author: str) -> str:
        download = await job.media.fetch(video.url)
        resp = await self.api.call(
            "POST",
            "/rest/videos?action=initializeUpload",
            json={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": download.size,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
            safe_to_retry=True,
        )
        upload = resp.decode(VideoUploadAnswer).value
        etags: list[str] = []
        # Parts are LinkedIn's byte ranges (4 MiB each but the last), never our own split.
        for part in upload.uploadInstructions:
            if not 0 <= part.firstByte <= part.lastByte < download.size:
                raise MediaError(f"{LABEL} asked for bytes outside the video file.")
            data = await read_range(download, part.firstByte, part.lastByte)
            answer = await self.api.call(
                "PUT", URL(part.uploadUrl, encoded=True), data=data, headers=OCTET_STREAM
            )
            etag = answer.headers.get("ETag")
            if not etag:
                raise MediaError(f"{LABEL} did not confirm a video part (no ETag).")
            etags.append(etag)
        await self.api.call(
            "POST",
            "/rest/videos?action=finalizeUpload",
            json={
                "finalizeUploadRequest": {
                    "video": upload.video,
                    "uploadToken": upload.uploadToken,
                    "uploadedPartIds": etags,
                }
            },
            safe_to_retry=True,  # at worst LinkedIn refuses a second finalize; no post exists yet
        )
        return upload.video

    async def _wait_available(self, kind: str, urn: str, job: PublishJob) -> None:
        what = "image" if kind == "images" else "video"

        async def check() -> bool | None:
            resp = await self.api.call("GET", f"/rest/{kind}/{quote(urn, safe='')}")
            state = resp.decode(MediaStatus)
            if state.status == "AVAILABLE":
                return True
            if state.status == "PROCESSING_FAILED":
                # the URN is spent: a later publish of this post must upload again
                if kind == "videos":
                    await job.checkpoint(video_urn=None)
                else:
                    kept = {
                        k: v for k, v in (job.state.get("image_urns") or {}).items() if v != urn
                    }
                    await job.checkpoint(image_urns=kept)
                why = state.processingFailureReason or "no reason given"
                raise MediaError(f"{LABEL} could not process the {what}: {why}")
            return None

        await self.deps.poll(check, label=LABEL, what=f"{what} processing")
