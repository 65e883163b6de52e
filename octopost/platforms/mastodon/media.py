"""Mastodon media: POST /api/v2/media, then poll GET /api/v1/media/:id until processed.

Each upload is checkpointed in `job.state["media"]` (slot -> id, source URL, ready)
before the next step, so a retried publish reuses what was already uploaded.
https://docs.joinmastodon.org/methods/media/#v2
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from typing import Any

from octopost.platforms.base import Draft, PublishJob
from octopost.platforms.errors import MediaError, UnavailableError
from octopost.platforms.mastodon.api import LABEL, Api, MediaEntity, filename_for


class Media:
    """The media of one publish to the account's instance."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps

    async def upload_all(self, draft: Draft, job: PublishJob) -> list[str]:
        """Upload each file once (checkpointed), then wait until it is processed."""
        items: list[tuple[str, str | None, str | None]] = [
            (image.url, image.alt_text, None) for image in draft.images
        ]
        if draft.video is not None:
            items = [(draft.video.url, None, draft.video.thumbnail_url)]
        media: dict[str, dict[str, Any]] = dict(job.state.get("media") or {})
        ids: list[str] = []
        for index, (url, alt_text, thumbnail_url) in enumerate(items):
            slot = str(index)
            entry = media.get(slot)
            if entry is not None and entry.get("url") != url:
                entry = None
            # An id from an earlier attempt may have expired (unattached media are
            # removed by the instance): then upload once more.
            for resumed in (entry is not None, False):
                if entry is None:
                    media_id, ready = await self._upload_one(job, url, alt_text, thumbnail_url)
                    entry = {"id": media_id, "url": url, "ready": ready}
                    media[slot] = entry
                    await job.checkpoint(media=media)
                if entry["ready"]:
                    break
                try:
                    gone = not await self._wait_processed(entry["id"], resumed)
                except MediaError:
                    media.pop(slot, None)  # a later attempt uploads it afresh
                    await job.checkpoint(media=media)
                    raise
                if not gone:
                    entry = {**entry, "ready": True}
                    media[slot] = entry
                    await job.checkpoint(media=media)
                    break
                entry = None
            if entry is None:
                raise UnavailableError(f"{LABEL} lost an uploaded media file; try again")
            ids.append(str(entry["id"]))
        return ids

    async def _upload_one(
        self,
        job: PublishJob,
        url: str,
        alt_text: str | None,
        thumbnail_url: str | None,
    ) -> tuple[str, bool]:
        """POST /api/v2/media; returns (id, processed). 202 means still processing."""
        download = await job.media.fetch(url)
        thumb = await job.media.fetch(thumbnail_url) if thumbnail_url else None
        with ExitStack() as files:
            import aiohttp  # loaded by then (the session that sends this form imported it)

            form = aiohttp.FormData()
            form.add_field(
                "file",
                files.enter_context(await asyncio.to_thread(open, download.path, "rb")),
                filename=filename_for(download.filename, download.content_type),
                content_type=download.content_type,
            )
            if alt_text:
                form.add_field("description", alt_text)
            if thumb is not None:
                form.add_field(
                    "thumbnail",
                    files.enter_context(await asyncio.to_thread(open, thumb.path, "rb")),
                    filename=filename_for(thumb.filename, thumb.content_type),
                    content_type=thumb.content_type,
                )
            # A repeated upload only leaves an unattached file behind (the instance
            # removes those), never a second post.
            resp = await self.api.call(
                "POST",
                "/api/v2/media",
                data=form,
                safe_to_retry=True,
                timeout=max(self.deps.http.timeout, 300.0),
            )
        media = resp.decode(MediaEntity)
        return media.id, resp.status == 200 and media.url is not None

    async def _wait_processed(self, media_id: str, missing_ok: bool = False) -> bool:
        """Poll until the media is processed (True); False if it is gone and `missing_ok`."""
        ok = (200, 206, 404) if missing_ok else (200, 206)

        async def check() -> str | None:
            resp = await self.api.call("GET", f"/api/v1/media/{media_id}", ok=ok)
            if resp.status == 206:
                return None
            return "gone" if resp.status == 404 else "ready"

        result: str = await self.deps.poll(check, label=LABEL, what="media processing")
        return result != "gone"
