"""X media: POST /2/media/upload/initialize -> /{id}/append (multipart, 4 MiB segments)
-> /{id}/finalize, then GET /2/media/upload?command=STATUS while `processing_info` says
pending/in_progress (video, GIF); alt text through POST /2/media/metadata.

Docs: https://docs.x.com/x-api/media/quickstart. Media ids are checkpointed with their
expiry, so a retried publish reuses what is still alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from octopost.platforms.base import Draft, PublishJob
from octopost.platforms.errors import MediaError
from octopost.platforms.twitter.api import LABEL, Api, UploadAnswer, UploadData

if TYPE_CHECKING:
    import aiohttp

CHUNK_SIZE = 4 * 1024 * 1024  # X allows up to 5 MB per APPEND segment
MAX_SEGMENTS = 1000  # segment_index 0..999
MAX_ALT_TEXT = 1000
IMAGE_TYPES = {"image/jpeg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/png": "image/png",
               "image/webp": "image/webp", "image/gif": "image/gif"}  # fmt: skip
VIDEO_TYPES = {"video/mp4": "video/mp4", "video/quicktime": "video/quicktime"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_GIF_BYTES = 15 * 1024 * 1024
MAX_VIDEO_BYTES = 512 * 1024 * 1024
#: a checkpointed media id is reused only while it has this much life left
MEDIA_REUSE_MARGIN = 600.0


class Media:
    """The media of one publish."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps

    async def upload_all(self, draft: Draft, job: PublishJob) -> list[str]:
        """Upload each file once (checkpointed with its expiry); returns the media ids."""
        items: list[tuple[str, str | None]] = [(i.url, i.alt_text) for i in draft.images]
        if draft.video is not None:
            items = [(draft.video.url, None)]
        saved: dict[str, dict[str, Any]] = dict(job.state.get("media") or {})
        now = self.deps.clock()
        ids: list[str] = []
        for slot, (url, alt_text) in enumerate(items):
            entry = saved.get(str(slot))
            if (
                entry is None
                or entry.get("url") != url
                or float(entry.get("expires_at") or 0) < now + MEDIA_REUSE_MARGIN
            ):
                video = draft.video is not None
                media = await self._upload(job, url, video=video, gif_ok=len(items) == 1)
                if alt_text:
                    await self._alt_text(media.id, alt_text)
                expires_at = now + (media.expires_after_secs or 3600)
                entry = {"url": url, "id": media.id, "expires_at": expires_at}
                saved[str(slot)] = entry
                await job.checkpoint(media=saved)
            ids.append(str(entry["id"]))
        return ids

    async def _upload(self, job: PublishJob, url: str, *, video: bool, gif_ok: bool) -> UploadData:
        download = await job.media.fetch(url)
        ctype = download.content_type.split(";")[0].strip().lower()
        if video:
            media_type, category, limit = VIDEO_TYPES.get(ctype), "tweet_video", MAX_VIDEO_BYTES
            accepted = "MP4 or MOV videos"
        else:
            media_type, category, limit = IMAGE_TYPES.get(ctype), "tweet_image", MAX_IMAGE_BYTES
            accepted = "JPEG, PNG, GIF or WEBP images"
            if media_type == "image/gif" and gif_ok:  # a lone GIF may be animated
                category, limit = "tweet_gif", MAX_GIF_BYTES
        if media_type is None:
            raise MediaError(f"{LABEL} accepts {accepted}; {url} is {ctype or 'of unknown type'}.")
        if download.size > limit:
            raise MediaError(f"{url} is {download.size} bytes; {LABEL} allows {limit} for it.")
        if download.size > CHUNK_SIZE * MAX_SEGMENTS:
            raise MediaError(f"{url} is too large for {LABEL}'s chunked upload.")
        # Uploads are safe to repeat: a stray upload expires unused, never posts.
        init = await self.api.call(
            "POST",
            "/2/media/upload/initialize",
            json={
                "media_type": media_type,
                "total_bytes": download.size,
                "media_category": category,
            },
            safe_to_retry=True,
        )
        media_id = init.decode(UploadAnswer).data.id
        segment = 0
        async for chunk in download.chunks(CHUNK_SIZE):
            await self.api.call(
                "POST",
                f"/2/media/upload/{media_id}/append",
                data=lambda index=segment, piece=chunk: _segment(index, piece),
                safe_to_retry=True,
                timeout=max(self.deps.http.timeout, 300.0),
            )
            segment += 1
        final = (
            (
                await self.api.call(
                    "POST", f"/2/media/upload/{media_id}/finalize", safe_to_retry=True
                )
            )
            .decode(UploadAnswer)
            .data
        )
        info = final.processing_info
        if info is not None and info.state != "succeeded":
            _check_processing(final)
            await self._wait_processed(media_id)
        return final

    async def _wait_processed(self, media_id: str) -> None:
        async def check() -> bool | None:
            resp = await self.api.call(
                "GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}
            )
            return True if _check_processing(resp.decode(UploadAnswer).data) else None

        await self.deps.poll(check, label=LABEL, what="media processing")

    async def _alt_text(self, media_id: str, text: str) -> None:
        if len(text) > MAX_ALT_TEXT:
            raise MediaError(f"{LABEL} alt text is at most {MAX_ALT_TEXT} characters.")
        await self.api.call(
            "POST",
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
            safe_to_retry=True,  # setting the same alt text twice changes nothing
        )


def _check_processing(data: UploadData) -> bool:
    """True when processing is over; MediaError when it failed."""
    info = data.processing_info
    if info is None or info.state == "succeeded":
        return True
    if info.state == "failed":
        why = info.error.message if info.error and info.error.message else "processing failed"
        raise MediaError(f"{LABEL} could not process the media: {why}")
    return False


def _segment(index: int, piece: bytes) -> aiohttp.FormData:
    import aiohttp  # loaded by then (the session that sends this form imported it)

    form = aiohttp.FormData()
    form.add_field("segment_index", str(index))
    form.add_field("media", piece, filename="blob", content_type="application/octet-stream")
    return form
