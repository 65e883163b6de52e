"""Bluesky embeds: images (blobs), video (the video service), link cards (Open Graph).

- Images: `com.atproto.repo.uploadBlob` each (blobs are content-addressed, so a repeat is
  harmless), then `app.bsky.embed.images` with alt text and `aspectRatio` read from the
  image header (`_files.py`). Two limits apply: the lexicon's (an image's `maxSize`
  is 2,000,000 bytes since atproto PR #4823, a link card's thumb still 1,000,000), checked
  when the record is created, and the PDS's own upload cap, checked by `uploadBlob` (413)
  and announced as `blobUploadLimit` by `com.atproto.server.describeServer` (the reference
  PDS's default, PDS_BLOB_UPLOAD_LIMIT, is 5 MiB), read once per publish when there are
  images to send.
- Video: the video service (https://docs.bsky.app/docs/tutorials/video) -- a service-auth
  token for the quota check, another for the upload (audience: the account's own PDS,
  method `com.atproto.repo.uploadBlob`, since the service uploads the result there), then
  `app.bsky.video.uploadVideo` and `getJobStatus` polls until the processed blob exists;
  the job id and the blob are checkpointed so a retried publish does not upload again.
  `aspectRatio` comes from the MP4's track header (`_files.py`).
- Link card: the first link's page is fetched (guarded), its Open Graph title, description
  and image make an `app.bsky.embed.external`; any failure there posts without a card.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urljoin

import msgspec

from octopost.platforms._files import (
    aspect_ratio,
    decode_html,
    image_type,
    parse_open_graph,
    video_aspect_ratio,
)
from octopost.platforms._http import Response
from octopost.platforms.base import Download, ImageRef, PublishJob, VideoRef
from octopost.platforms.bluesky.api import LABEL, Api, ServiceToken, did_web, reason, xrpc_error
from octopost.platforms.errors import (
    MediaError,
    PlatformError,
    RejectedError,
    UnavailableError,
)

log = logging.getLogger("octopost.platforms.bluesky")

#: app.bsky.embed.images#image `image.maxSize` (lexicons/app/bsky/embed/images.json)
MAX_IMAGE_BYTES = 2_000_000
#: app.bsky.embed.external#external `thumb.maxSize` (lexicons/app/bsky/embed/external.json)
MAX_THUMB_BYTES = 1_000_000
#: how long a video upload token lives (the PDS default of 60 s is too short for big files)
UPLOAD_TOKEN_SECONDS = 30 * 60
MAX_CARD_TITLE = 300
MAX_CARD_DESCRIPTION = 1000


class JobStatus(msgspec.Struct):
    jobId: str = ""
    state: str = ""
    blob: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None
    failureCode: str | None = None


class ServerDescription(msgspec.Struct):
    """com.atproto.server.describeServer, the one field used (absent on some servers)."""

    blobUploadLimit: int | None = None


class UploadLimits(msgspec.Struct):
    canUpload: bool = True
    remainingDailyBytes: int | None = None
    message: str | None = None
    error: str | None = None


def job_status(resp: Response) -> JobStatus:
    """The lexicon wraps it as {"jobStatus": ...}; the live service and app use it bare."""
    data = resp.json()
    if isinstance(data, dict) and isinstance(data.get("jobStatus"), dict):
        data = data["jobStatus"]
    try:
        return msgspec.convert(data, JobStatus)
    except msgspec.ValidationError as exc:
        raise MediaError(f"{LABEL} video service sent an unexpected answer") from exc


def classify_video(resp: Response, now: float) -> PlatformError | None:
    """The video service's answers concern the video, never the account's session."""
    status = resp.status
    if status == 429 or (status >= 500 and status != 501):
        return None
    error, message = xrpc_error(resp)
    why = message or error or f"HTTP {status}"
    if status in (404, 501) or error == "MethodNotImplemented":
        return MediaError(
            f"{resp.url.split('/xrpc/')[0]} has no {LABEL} video service ({why}). "
            "Set platforms.bluesky.upload_url to one (https://video.bsky.app) or post images."
        )
    return MediaError(f"{LABEL} video service refused the video: {why}", status=status)


class Media:
    """The embeds of one publish."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.deps = api.deps
        self.video_http = api.deps.bind(
            f"{LABEL} video service", reason=reason, classify=classify_video
        )
        self._upload_limit: int | None = None
        self._upload_limit_asked = False

    async def upload_limit(self) -> int | None:
        """The PDS's blob upload cap from describeServer, or None when it does not say."""
        if not self._upload_limit_asked:
            self._upload_limit_asked = True
            limit: int | None = None
            try:
                resp = await self.api.http.request(
                    "GET",
                    f"{self.api.service_url()}/xrpc/com.atproto.server.describeServer",
                    safe_to_retry=True,
                )
                found = resp.decode(ServerDescription).blobUploadLimit
                limit = found if found and found > 0 else None
            except PlatformError as exc:  # an older or unusual server: uploadBlob still says 413
                log.info("bluesky describeServer failed", extra={"reason": exc.message})
            self._upload_limit = limit
        return self._upload_limit

    async def upload_blob(self, download: Download, mime: str) -> dict[str, Any]:
        data = await asyncio.to_thread(download.read)
        resp = await self.api.call(
            "POST",
            "com.atproto.repo.uploadBlob",
            data=data,
            headers={"Content-Type": mime},
            safe_to_retry=True,  # content-addressed: the same bytes give the same blob
        )
        blob = (resp.json() or {}).get("blob")
        if not isinstance(blob, dict):
            raise MediaError(f"{LABEL} did not return the uploaded blob")
        return blob

    # -- images ------------------------------------------------------------------------
    async def images(self, images: tuple[ImageRef, ...], job: PublishJob) -> dict[str, Any]:
        entries = []
        for number, image in enumerate(images, 1):
            download = await job.media.fetch(image.url)
            mime = await asyncio.to_thread(image_type, download)
            if mime is None:
                raise MediaError(
                    f"Image {number}: {LABEL} takes JPEG, PNG, WebP or GIF images; "
                    f"{image.url} is {download.content_type}."
                )
            if download.size > MAX_IMAGE_BYTES:
                raise MediaError(
                    f"Image {number} is {download.size:,} bytes; {LABEL} accepts at most "
                    f"{MAX_IMAGE_BYTES:,} bytes per image. Resize or compress it."
                )
            cap = await self.upload_limit()
            if cap is not None and download.size > cap:
                raise MediaError(
                    f"Image {number} is {download.size:,} bytes; this {LABEL} server accepts "
                    f"uploads of at most {cap:,} bytes. Resize or compress it."
                )
            entry: dict[str, Any] = {
                "image": await self.upload_blob(download, mime),
                "alt": image.alt_text or "",
            }
            ratio = await asyncio.to_thread(aspect_ratio, download)
            if ratio:
                entry["aspectRatio"] = ratio
            entries.append(entry)
        return {"$type": "app.bsky.embed.images", "images": entries}

    # -- video -------------------------------------------------------------------------
    async def video(self, video: VideoRef, job: PublishJob) -> dict[str, Any]:
        blob = job.state.get("video_blob")
        if not blob:
            blob = await self._video_blob(video, job)
            await job.checkpoint(video_blob=blob)
        embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
        if job.state.get("video_aspect"):
            embed["aspectRatio"] = job.state["video_aspect"]
        return embed

    def _video_host(self) -> str:
        host = self.deps.settings.upload_url.rstrip("/")
        if not host:
            raise MediaError(
                f"No {LABEL} video service is configured: set platforms.bluesky.upload_url "
                "(https://video.bsky.app) or post images."
            )
        return host

    async def _service_token(self, aud: str, lxm: str, exp: int | None = None) -> str:
        params = {"aud": aud, "lxm": lxm}
        if exp is not None:
            params["exp"] = str(exp)
        try:
            resp = await self.api.call("GET", "com.atproto.server.getServiceAuth", params=params)
        except RejectedError as exc:  # e.g. a PDS without service auth
            raise MediaError(
                f"{LABEL} cannot upload video from this server: {exc.message}"
            ) from exc
        return resp.decode(ServiceToken).token

    async def _video_blob(self, video: VideoRef, job: PublishJob) -> dict[str, Any]:
        host = self._video_host()
        job_id = job.state.get("video_job")
        if not job_id:
            download = await job.media.fetch(video.url)
            if not download.content_type.startswith("video/"):
                raise MediaError(f"{video.url} is {download.content_type}, not a video.")
            ratio = await asyncio.to_thread(video_aspect_ratio, download)
            creds = await self.api.session()
            await self._check_quota(host, download)
            pds = creds.pdsEndpoint or self.api.service_url(creds)
            exp = int(self.deps.clock()) + UPLOAD_TOKEN_SECONDS
            token = await self._service_token(did_web(pds), "com.atproto.repo.uploadBlob", exp)
            with download.path.open("rb") as body:
                resp = await self.video_http.request(
                    "POST",
                    f"{host}/xrpc/app.bsky.video.uploadVideo",
                    params={"did": creds.did or "", "name": f"{job.key.replace(':', '-')}.mp4"},
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "video/mp4"},
                    data=body,
                    safe_to_retry=True,  # a processing job, never a post
                    ok=(200, 409),  # 409 already_exists: processed before, blob included
                    timeout=max(60.0, download.size / 250_000),  # >= 4 s per MB
                )
            await job.checkpoint(video_aspect=ratio)
            status = job_status(resp)
            if status.blob:
                return status.blob
            if not status.jobId:
                raise MediaError(
                    f"{LABEL} video service did not start a job: {status.message or status.error}"
                )
            job_id = status.jobId
            await job.checkpoint(video_job=job_id)
        return await self._wait_for_job(host, str(job_id), job)

    async def _check_quota(self, host: str, download: Download) -> None:
        token = await self._service_token(did_web(host), "app.bsky.video.getUploadLimits")
        resp = await self.video_http.request(
            "GET",
            f"{host}/xrpc/app.bsky.video.getUploadLimits",
            headers={"Authorization": f"Bearer {token}"},
        )
        limits = resp.decode(UploadLimits)
        if not limits.canUpload:
            raise MediaError(
                f"{LABEL} will not take a video from this account now: "
                f"{limits.message or limits.error or 'upload limit reached'}"
            )
        if limits.remainingDailyBytes is not None and download.size > limits.remainingDailyBytes:
            raise MediaError(
                f"The video is {download.size:,} bytes; {LABEL} allows "
                f"{limits.remainingDailyBytes:,} more bytes of video today."
            )

    async def _wait_for_job(self, host: str, job_id: str, job: PublishJob) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            resp = await self.video_http.request(
                "GET", f"{host}/xrpc/app.bsky.video.getJobStatus", params={"jobId": job_id}
            )
            status = job_status(resp)
            if status.blob:  # also on `already_exists`: the blob is what counts
                return status.blob
            if status.state == "JOB_STATE_FAILED":
                await job.checkpoint(video_job=None)  # a later publish must upload again
                reason = status.message or status.error or status.failureCode or "no reason given"
                raise MediaError(f"{LABEL} could not process the video: {reason}")
            return None  # CREATED, ENCODING, SCANNING, UPLOADING, ... or an unknown state

        return await self.deps.poll(check, label=LABEL, what="video processing")

    # -- link card ---------------------------------------------------------------------
    async def card(self, url: str, job: PublishJob) -> dict[str, Any] | None:
        """`app.bsky.embed.external` for `url`, or None when the page gives nothing usable."""
        try:
            content_type, body = await self.deps.pages.fetch_page(url)
        except (MediaError, UnavailableError) as exc:  # unreachable or refused: no card
            log.info("bluesky link card skipped", extra={"url": url, "reason": exc.message})
            return None
        if "html" not in content_type.lower():
            return None
        meta = parse_open_graph(decode_html(content_type, body))
        title = meta.get("og:title") or meta.get("twitter:title") or meta.get("title") or ""
        description = (
            meta.get("og:description")
            or meta.get("twitter:description")
            or meta.get("description")
            or ""
        )
        if not title and not description:
            return None
        external: dict[str, Any] = {
            "uri": url,
            "title": title[:MAX_CARD_TITLE],
            "description": description[:MAX_CARD_DESCRIPTION],
        }
        image = meta.get("og:image") or meta.get("twitter:image")
        if image:
            thumb = await self._thumb(urljoin(url, image), job)
            if thumb:
                external["thumb"] = thumb
        return {"$type": "app.bsky.embed.external", "external": external}

    async def _thumb(self, url: str, job: PublishJob) -> dict[str, Any] | None:
        try:
            download = await job.media.fetch(url)
            mime = await asyncio.to_thread(image_type, download)
            cap = await self.upload_limit()
            if mime is None or download.size > min(MAX_THUMB_BYTES, cap or MAX_THUMB_BYTES):
                return None
            return await self.upload_blob(download, mime)
        except (MediaError, RejectedError, UnavailableError) as exc:
            log.info("bluesky card image skipped", extra={"url": url, "reason": exc.message})
            return None
