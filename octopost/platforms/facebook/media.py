"""Facebook media: unpublished photos for an album, and a video's processing.

Facebook fetches every file from its public URL itself. Several photos are uploaded as
unpublished photos first (`published=false`, ids checkpointed one by one) and attached
to one feed post; a video is polled (GET /{video}?fields=status,post_id) until it has
its post. https://developers.facebook.com/docs/graph-api/reference/photo/,
https://developers.facebook.com/docs/video-api/guides/publishing
"""

from __future__ import annotations

from octopost.platforms._graph.session import GraphSession
from octopost.platforms.base import Draft, PublishJob
from octopost.platforms.errors import MediaError
from octopost.platforms.facebook.api import LABEL, Created, VideoNode, VideoStatus

#: Unpublished photos are deleted about a day after upload unless attached.
PHOTO_TTL = 20 * 3600.0


class Media:
    """The media of one publish."""

    def __init__(self, api: GraphSession) -> None:
        self.api = api
        self.deps = api.deps

    async def photos(self, draft: Draft, job: PublishJob, page_id: str) -> list[str]:
        """Each image as an unpublished photo, checkpointed one by one (resumed on retry)."""
        entries: list[dict[str, str]] = list(job.state.get("photos") or [])
        uploaded_at = float(job.state.get("photos_at") or 0)
        if self.deps.clock() - uploaded_at > PHOTO_TTL:
            entries = []  # Facebook has deleted (or soon deletes) unattached photos
        ids: list[str] = []
        for index, image in enumerate(draft.images):
            entry = entries[index] if index < len(entries) else None
            if entry is None or entry.get("url") != image.url:
                data = {"url": image.url, "published": "false"}
                if image.alt_text:
                    data["alt_text_custom"] = image.alt_text
                # A repeat only leaves an unpublished photo behind, never a post.
                resp = await self.api.call(
                    "POST", f"{page_id}/photos", data=data, safe_to_retry=True
                )
                if index == 0:
                    uploaded_at = self.deps.clock()
                entry = {"url": image.url, "id": resp.decode(Created).id}
                entries = [*entries[:index], entry]
                await job.checkpoint(photos=entries, photos_at=uploaded_at)
            ids.append(entry["id"])
        return ids

    async def video_post(self, job: PublishJob, video_id: str) -> str:
        """Poll the video until it is processed and has its post (MediaError if it failed)."""

        async def check() -> str | None:
            resp = await self.api.call("GET", video_id, params={"fields": "status,post_id"})
            node = resp.decode(VideoNode)
            status = node.status or VideoStatus()
            failure = status.failure()
            if failure is not None:
                await job.checkpoint(video_id=None, sending=None)  # no post: upload afresh
                raise MediaError(f"{LABEL} could not process the video: {failure}")
            if status.video_status == "ready" and node.post_id:
                return node.post_id
            return None

        post_id: str = await self.deps.poll(check, label=LABEL, what="video processing")
        return post_id
