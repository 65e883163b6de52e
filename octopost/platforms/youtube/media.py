"""YouTube video bytes: the resumable upload protocol, and the thumbnail.

https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol: the bytes
go to the session URI (checkpointed). An interrupted PUT is resumed: the session answers
`Content-Range: bytes */total` with 308 + `Range: bytes=0-N` (resume at N+1) or with the
finished video resource.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from yarl import URL

from octopost.platforms._http import Response
from octopost.platforms.base import Download, PublishJob
from octopost.platforms.errors import (
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.youtube.api import LABEL, SESSION, Api, Video, stored_bytes

#: Google's recommended piece size for streaming and resumable chunks (a 256 KiB multiple)
PIECE = 8 * 262_144
#: PUT rounds within one publish while the session keeps fewer bytes than were sent
RESUME_ROUNDS = 4
THUMBNAIL_MAX = 2 * 1024 * 1024
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png"})


class Media:
    """The video of one publish."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps

    async def upload(self, job: PublishJob, download: Download, offset: int | None) -> str:
        """Send the bytes from `offset` (None: ask the session first) until the video exists.

        A dropped connection or a 5xx goes to the publisher: its next attempt asks the
        session where it stands and sends the rest (`YoutubeAdapter._continue`).
        """
        failure: PlatformError | None = None
        for _ in range(RESUME_ROUNDS):
            if offset is None:
                video_id, offset = await self.query(job)
                if video_id is not None:
                    return video_id
            try:
                resp = await self._put(job, download, offset)
            except RejectedError as exc:
                # Bytes that overlap what the session holds are refused (e.g. a resent
                # request after a dropped connection): the session says where it stands.
                video_id, stored = await self.query(job)
                if video_id is not None:
                    return video_id
                if stored == offset:
                    raise
                failure, offset = exc, stored
                continue
            if resp.status in (200, 201):
                return resp.decode(Video).id
            offset = stored_bytes(resp.headers)  # 308: the session kept fewer bytes
        raise failure or UnavailableError(f"The {LABEL} upload did not complete.")

    async def _put(self, job: PublishJob, download: Download, offset: int) -> Response:
        size = int(job.state["youtube_size"])

        def body() -> AsyncIterator[bytes]:
            return download.chunks(PIECE, offset)

        return await self.api.call(
            "PUT",
            URL(str(job.state[SESSION]), encoded=True),
            headers={
                "Content-Type": str(job.state.get("youtube_type") or "application/octet-stream"),
                "Content-Length": str(size - offset),
                "Content-Range": f"bytes {offset}-{size - 1}/{size}",
            },
            data=body,
            ok=(200, 201, 308),
            timeout=max(self.deps.http.timeout, 60 + (size - offset) / 1_000_000),
        )

    async def query(self, job: PublishJob) -> tuple[str | None, int]:
        """(video id, size) when the upload completed, else (None, bytes stored)."""
        size = int(job.state["youtube_size"])
        resp = await self.api.call(
            "PUT",
            URL(str(job.state[SESSION]), encoded=True),
            headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"},
            ok=(200, 201, 308, 404, 410),
        )
        if resp.status in (200, 201):
            return resp.decode(Video).id, size
        if resp.status == 308:
            return None, stored_bytes(resp.headers)
        raise OutcomeUnknownError(
            f"{LABEL} no longer knows the upload session, so whether the video was published "
            f"cannot be told. Check your {LABEL} channel before posting again."
        )

    async def thumbnail(self, job: PublishJob, video_id: str, url: str) -> None:
        image = await job.media.fetch(url)
        if image.content_type not in THUMBNAIL_TYPES or image.size > THUMBNAIL_MAX:
            raise MediaError(f"a thumbnail must be a JPEG or PNG of at most 2 MB ({url})")
        await self.api.call(
            "POST",
            f"{self.deps.settings.upload_url}/youtube/v3/thumbnails/set",
            params={"videoId": video_id, "uploadType": "media"},
            headers={"Content-Type": image.content_type},
            data=image.read,
            safe_to_retry=True,  # setting the same thumbnail twice is harmless
        )
        await job.checkpoint(youtube_thumbnail=True)
