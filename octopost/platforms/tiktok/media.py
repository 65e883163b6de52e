"""TikTok video bytes: FILE_UPLOAD chunks PUT to the upload URL TikTok returned.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide: 5-64 MB per
chunk (decimal), the remainder merged into the last one, sent strictly in order; the
publish's status says how many bytes TikTok holds, so an interrupted upload resumes there.
"""

from __future__ import annotations

import asyncio
import mimetypes

from yarl import URL

from octopost.platforms._files import mp4_duration, read_range
from octopost.platforms.base import Download, PublishJob
from octopost.platforms.errors import MediaError, PlatformError
from octopost.platforms.tiktok.api import LABEL, PUBLISH_ID, Api, Envelope, Status

CHUNK_SIZE = 10_000_000
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a FILE_UPLOAD of `size` bytes."""
    if size <= CHUNK_SIZE:
        return size, 1
    return CHUNK_SIZE, size // CHUNK_SIZE


def chunk_ranges(size: int, chunk: int) -> list[tuple[int, int]]:
    """Inclusive byte ranges; the last chunk takes the remainder."""
    count = max(1, size // chunk)
    return [(i * chunk, size - 1 if i == count - 1 else (i + 1) * chunk - 1) for i in range(count)]


def _video_type(download: Download) -> str:
    if download.content_type in VIDEO_TYPES:
        return download.content_type
    guessed = mimetypes.guess_type(download.filename)[0]
    return guessed if guessed in VIDEO_TYPES else "video/mp4"


class Media:
    """The video of one publish."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps

    async def check_duration(self, download: Download, limit: int | None) -> None:
        """Refuse a video longer than the creator may post (`limit` seconds)."""
        if not limit:
            return
        duration = await asyncio.to_thread(mp4_duration, download)
        if duration is not None and duration > limit:
            raise MediaError(
                f"The video is {duration:.0f} s long; this {LABEL} account may post videos of "
                f"at most {limit} s."
            )

    async def status(self, publish_id: str) -> Status:
        resp = await self.api.call(
            "POST",
            "/v2/post/publish/status/fetch/",
            json={"publish_id": publish_id},
            safe_to_retry=True,
        )
        return resp.decode(Envelope[Status]).data

    async def upload(self, job: PublishJob, download: Download, uploaded: int) -> None:
        """PUT the chunks from byte `uploaded` on (a chunk boundary), strictly in order."""
        upload_url = job.state.get("tiktok_upload_url")
        if not upload_url:
            raise MediaError(f"{LABEL} did not return an upload URL.")
        size, chunk = int(job.state["tiktok_size"]), int(job.state["tiktok_chunk"])
        ctype = _video_type(download)
        for first, last in chunk_ranges(size, chunk):
            if last < uploaded:
                continue
            data = await read_range(download, first, last)
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
                status = await self.status(str(job.state[PUBLISH_ID]))
                if status.status == "PROCESSING_UPLOAD" and (status.uploaded_bytes or 0) <= last:
                    raise
        await job.checkpoint(tiktok_uploaded=True)
