"""X (API v2): text, up to 4 images with alt text (or one GIF), or one video.

Docs: https://docs.x.com/x-api/posts/create-post, https://docs.x.com/x-api/media/quickstart
(the OpenAPI at https://api.x.com/2/openapi.json is the reference for every shape).

- Auth: OAuth 1.0a user context (HMAC-SHA1, signed with oauthlib) or an OAuth 2.0
  user token, refreshed once when it expires or X answers 401; the rotating refresh
  token is stored before the new access token is used (`Account.refresh`).
- Media: POST /2/media/upload/initialize -> /{id}/append (multipart, 4 MiB
  segments) -> /{id}/finalize, then GET /2/media/upload?command=STATUS while
  `processing_info` says pending/in_progress (video, GIF); alt text through
  POST /2/media/metadata. Media ids are checkpointed with their expiry.
- POST /2/tweets has no idempotency key. Before sending, the start time and user
  id are checkpointed; a retried publish, and recover(), look for the post among
  the user's posts since then (GET /2/users/{id}/tweets?start_time=...) before
  anything is sent again. X's duplicate-content 403 backs this up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
from yarl import URL

from octopost.platforms._http import Response, bounded_poll
from octopost.platforms._lookup import Inconclusive, settled_lookup, window_for
from octopost.platforms.base import (
    Account,
    Deps,
    Draft,
    Identity,
    Limits,
    PlatformSettings,
    Published,
    PublishJob,
    standard_checks,
)
from octopost.platforms.errors import (
    AuthExpiredError,
    DuplicateError,
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RejectedError,
)
from octopost.platforms.twitter.api import (
    LABEL,
    AccountSettings,
    CreateAnswer,
    MeAnswer,
    OAuth2Credentials,
    TimelineAnswer,
    UploadAnswer,
    UploadData,
    XAuth,
    classify,
    decode,
    decode_creds,
    reason,
)
from octopost.platforms.twitter.text import (
    MAX_WEIGHTED_LENGTH,
    comparable,
    invalid_characters,
    is_blank,
    weighted_length,
)

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
#: our clock vs X's `created_at` when looking for a post we may have created
CLOCK_SLACK = 300.0
#: how many of the user's latest posts are searched (X: 5..100)
LOOKUP_COUNT = 20


class TwitterAdapter:
    platform: ClassVar[str] = "twitter"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(max_chars=MAX_WEIGHTED_LENGTH, max_images=4)
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://api.x.com",
        auth_url="https://api.x.com",
        poll_interval=3.0,
        poll_timeout=600.0,
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.http.bind(LABEL, reason=reason, classify=lambda r: classify(r, deps.clock))
        self.auth = XAuth(account, deps)

    # -- rules ------------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        return weighted_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        if draft.video is not None and draft.images:
            problems.append(f"{LABEL} posts carry up to 4 images or one video, not both.")
        if is_blank(draft.content) and not draft.images and draft.video is None:
            problems.append(f"{LABEL} needs text, images or a video.")
        bad = invalid_characters(draft.content)
        if bad:
            problems.append(f"{LABEL} refuses text containing {', '.join(bad)}.")
        for number, image in enumerate(draft.images, 1):
            if image.alt_text and len(image.alt_text) > MAX_ALT_TEXT:
                problems.append(
                    f"Image {number}: {LABEL} alt text is at most {MAX_ALT_TEXT} characters; "
                    f"it has {len(image.alt_text)}."
                )
        return problems

    async def current_limits(self) -> Limits:
        return self.limits

    # -- requests -----------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        json: Any = None,
        form: Any = None,
        safe_to_retry: bool | None = None,
        request_timeout: float | None = None,
    ) -> Response:
        """One API call, signed; an OAuth 2.0 401 refreshes the token once and retries.

        `form` is a callable building a fresh multipart body (one per attempt).
        A 401 means X did not act on the request, so repeating it is safe.
        """
        url = self.deps.settings.base_url + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        raw = await self.auth.current()
        for attempt in (1, 2):
            creds = decode_creds(raw)
            try:
                return await self.http.request(
                    method,
                    URL(url, encoded=True),  # sent exactly as signed
                    headers=self.auth.headers(creds, method, url),
                    json=json,
                    data=form() if form is not None else None,
                    safe_to_retry=safe_to_retry,
                    timeout=request_timeout,
                )
            except AuthExpiredError as exc:
                if attempt == 2 or exc.status != 401 or not isinstance(creds, OAuth2Credentials):
                    raise
                raw = await self.auth.refresh(raw)
        raise AssertionError("unreachable")

    def _settings(self) -> AccountSettings:
        try:
            return msgspec.convert(self.account.settings or {}, AccountSettings, strict=False)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid {LABEL} account settings: {exc}") from exc

    def _post_url(self, post_id: str) -> str:
        username = self.account.username
        if username:
            return f"https://x.com/{username}/status/{post_id}"
        return f"https://x.com/i/web/status/{post_id}"

    # -- identity -------------------------------------------------------------------
    async def verify(self) -> Identity:
        self.auth.credentials()  # bad or missing fields: RejectedError before any call
        me = decode(await self._call("GET", "/2/users/me"), MeAnswer).data
        current = self.account.credentials
        updated = {**current, "kind": decode_creds(current).kind, "user_id": me.id}
        if updated != current:
            await self.account.save_credentials(updated)
        return Identity(
            username=me.username,
            display_name=me.name,
            remote_id=me.id,
            profile_url=f"https://x.com/{me.username}",
        )

    async def _user_id(self) -> str:
        user_id = self.auth.credentials().user_id
        if user_id:
            return user_id
        return (await self.verify()).remote_id or ""

    # -- publishing -------------------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        done = job.state.get("tweet_id")
        if done:
            return Published(str(done), self._post_url(str(done)))
        settings = self._settings()
        resent = job.state.get("tweet_sent_at") is not None
        if resent:
            # An earlier attempt sent the create and got no usable answer (5xx, crash).
            found = await self._lookup(draft, job)
            if found is not None:
                return found
        media_ids = await self._upload_media(draft, job)
        body: dict[str, Any] = {"text": draft.content}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if settings.reply_settings:
            body["reply_settings"] = settings.reply_settings
        if not resent:
            await job.checkpoint(tweet_sent_at=self.deps.clock(), user_id=await self._user_id())
        else:  # recover() waits for a late listing counted from the latest send
            await job.checkpoint(tweet_resent_at=self.deps.clock())
        try:
            resp = await self._call("POST", "/2/tweets", json=body, safe_to_retry=False)
        except DuplicateError as exc:
            if not resent:
                raise
            found = await self._lookup(draft, job)
            if found is not None:
                return found
            raise OutcomeUnknownError(
                f"{LABEL} refused the retry as a duplicate, so an earlier attempt probably "
                f"created the post, but it is not among the account's latest posts. Check "
                f"your {LABEL} account before re-posting."
            ) from exc
        try:
            post_id = msgspec.json.decode(resp.body, type=CreateAnswer).data.id
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise OutcomeUnknownError(
                f"{LABEL} answered the post with HTTP {resp.status} but no post id; "
                f"check your {LABEL} account before re-posting."
            ) from exc
        await job.checkpoint(tweet_id=post_id)
        return Published(post_id, self._post_url(post_id))

    # -- media --------------------------------------------------------------------------
    async def _upload_media(self, draft: Draft, job: PublishJob) -> list[str]:
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
        init = await self._call(
            "POST",
            "/2/media/upload/initialize",
            json={
                "media_type": media_type,
                "total_bytes": download.size,
                "media_category": category,
            },
            safe_to_retry=True,
        )
        media_id = decode(init, UploadAnswer).data.id
        segment = 0
        async for chunk in download.chunks(CHUNK_SIZE):
            await self._call(
                "POST",
                f"/2/media/upload/{media_id}/append",
                form=lambda index=segment, piece=chunk: _segment(index, piece),
                safe_to_retry=True,
                request_timeout=max(self.http.client.timeout, 300.0),
            )
            segment += 1
        final = decode(
            await self._call("POST", f"/2/media/upload/{media_id}/finalize", safe_to_retry=True),
            UploadAnswer,
        ).data
        info = final.processing_info
        if info is not None and info.state != "succeeded":
            self._check_processing(final)
            await self._wait_processed(media_id)
        return final

    def _check_processing(self, data: UploadData) -> bool:
        """True when processing is over; MediaError when it failed."""
        info = data.processing_info
        if info is None or info.state == "succeeded":
            return True
        if info.state == "failed":
            why = info.error.message if info.error and info.error.message else "processing failed"
            raise MediaError(f"{LABEL} could not process the media: {why}")
        return False

    async def _wait_processed(self, media_id: str) -> None:
        async def check() -> bool | None:
            resp = await self._call(
                "GET", "/2/media/upload", query={"command": "STATUS", "media_id": media_id}
            )
            return True if self._check_processing(decode(resp, UploadAnswer).data) else None

        await bounded_poll(
            check,
            interval=self.deps.settings.poll_interval,
            timeout=self.deps.settings.poll_timeout,
            sleep=self.deps.sleep,
            what="media processing",
            label=LABEL,
        )

    async def _alt_text(self, media_id: str, text: str) -> None:
        if len(text) > MAX_ALT_TEXT:
            raise MediaError(f"{LABEL} alt text is at most {MAX_ALT_TEXT} characters.")
        await self._call(
            "POST",
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
            safe_to_retry=True,  # setting the same alt text twice changes nothing
        )

    # -- recovery -----------------------------------------------------------------------
    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = job.state.get("tweet_id")
        if done:
            return Published(str(done), self._post_url(str(done)))
        if job.state.get("tweet_sent_at") is None:
            return None  # the create was never sent: publishing is safe
        sent_at = max(
            float(job.state["tweet_sent_at"]), float(job.state.get("tweet_resent_at") or 0)
        )
        try:
            found = await settled_lookup(
                lambda: self._lookup(draft, job),
                sent_at=sent_at,
                window=window_for(self.deps),
                deps=self.deps,
            )
        except Inconclusive:
            found = None
        if found is not None:
            return found
        # Not on the timeline (yet?): X has no idempotency key and no lookup by
        # client key, so absence proves nothing about a request still in flight.
        raise OutcomeUnknownError(
            f"{LABEL} did not confirm the post and it is not among the account's latest "
            f"posts; check your {LABEL} account before re-posting."
        )

    async def _lookup(self, draft: Draft, job: PublishJob) -> Published | None:
        """The post with the draft's text created since our first attempt, if any."""
        user_id = str(job.state.get("user_id") or await self._user_id())
        since = float(job.state["tweet_sent_at"]) - CLOCK_SLACK
        query = {
            "max_results": str(LOOKUP_COUNT),
            "start_time": datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        try:
            resp = await self._call("GET", f"/2/users/{user_id}/tweets", query=query)
        except PlatformError as exc:
            if exc.retryable:
                raise
            raise OutcomeUnknownError(
                f"{LABEL} did not confirm the post, and the account's posts could not be "
                f"read ({exc.message}); check your {LABEL} account before re-posting."
            ) from exc
        has_media = bool(draft.images) or draft.video is not None
        wanted = comparable(draft.content)
        for tweet in decode(resp, TimelineAnswer).data:
            if comparable(tweet.text, from_x=True, has_media=has_media) == wanted:
                await job.checkpoint(tweet_id=tweet.id)
                return Published(tweet.id, self._post_url(tweet.id))
        return None


def _segment(index: int, piece: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("segment_index", str(index))
    form.add_field("media", piece, filename="blob", content_type="application/octet-stream")
    return form
