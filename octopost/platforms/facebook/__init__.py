"""Facebook Page (Graph API): text/link posts, one photo, several photos, or one video.

Docs: https://developers.facebook.com/docs/pages-api/posts,
https://developers.facebook.com/docs/graph-api/reference/photo/,
https://developers.facebook.com/docs/video-api/guides/publishing.

Flows (Facebook fetches every media file from its public URL itself):
- text: POST /{page}/feed `message` (+ `link` = the first URL, for the preview card);
- one photo: POST /{page}/photos `url`, `caption`, `alt_text_custom` -> {id, post_id};
- several photos: POST /{page}/photos `published=false` per image (ids checkpointed),
  then POST /{page}/feed `message` + `attached_media[i]={"media_fbid": ...}`;
- video: POST graph-video/{page}/videos `file_url`, `description` (video id
  checkpointed), then GET /{video}?fields=status,post_id until it is ready.

No create is idempotent. The time the final request leaves is checkpointed first;
after a lost answer recover() looks for the post on the Page (GET /{page}/posts,
or /{page}/videos for a video) before anything is sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import ClassVar

import msgspec

from octopost.platforms._graph.errors import classifier, reason
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
    decode_credentials,
    standard_checks,
)
from octopost.platforms.errors import (
    DuplicateError,
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.facebook.api import (
    WEB,
    AccountSettings,
    Created,
    Credentials,
    MeNode,
    PageNode,
    VideoNode,
    VideoStatus,
    comparable,
    decode,
    facebook_rules,
    find_on_page,
    first_url,
    full_post_id,
    is_link_error,
    post_url,
)

#: Our clock vs Facebook's `created_time` when matching a post after a lost answer.
CLOCK_SLACK = 300.0
#: Unpublished photos are deleted about a day after upload unless attached.
PHOTO_TTL = 20 * 3600.0
#: Facebook downloads `file_url` before it answers the video create.
VIDEO_CREATE_TIMEOUT = 300.0

Send = Callable[[], Awaitable[Response]]


class FacebookAdapter:
    platform: ClassVar[str] = "facebook"
    label: ClassVar[str] = "Facebook"
    #: 63,206 is the widely cited message cap (not in the Graph reference). No
    #: documented photo count per post; 10 keeps well clear of the reported
    #: failures with many photos and a long message.
    limits: ClassVar[Limits] = Limits(max_chars=63206, max_images=10, needs_public_media=True)
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://graph.facebook.com",
        upload_url="https://graph-video.facebook.com",
        api_version="v25.0",
        poll_interval=3.0,
        poll_timeout=900.0,
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.http = deps.http.bind(
            self.label,
            reason=reason,
            classify=classifier(self.label, extra=facebook_rules(deps.clock), clock=deps.clock),
        )

    # -- rules ----------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        # Facebook documents no counting rule. UTF-16 code units (a JavaScript
        # string's length) are never fewer than code points: the safe choice.
        return len(text.encode("utf-16-le")) // 2

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        if draft.video is not None and draft.images:
            problems.append("Facebook cannot combine a video with images in one post.")
        if not draft.content.strip() and not draft.images and draft.video is None:
            problems.append("Facebook needs text, images or a video.")
        return problems

    async def current_limits(self) -> Limits:
        return self.limits

    # -- plumbing ---------------------------------------------------------------
    def _credentials(self) -> Credentials:
        creds = decode_credentials(Credentials, self.account.credentials, self.label)
        if not creds.page_id.strip() or not creds.page_access_token.strip():
            raise RejectedError(
                "Invalid Facebook credentials: page_id and page_access_token are required"
            )
        return creds

    def _settings(self) -> AccountSettings:
        try:
            return msgspec.convert(self.account.settings or {}, AccountSettings, strict=False)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid Facebook account settings: {exc}") from exc

    def _url(self, path: str, *, upload: bool = False) -> str:
        settings = self.deps.settings
        base = settings.upload_url if upload and settings.upload_url else settings.base_url
        version = settings.api_version.strip("/")
        return f"{base.rstrip('/')}/{version}/{path}" if version else f"{base.rstrip('/')}/{path}"

    async def _graph(
        self,
        method: str,
        path: str,
        creds: Credentials,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        upload: bool = False,
        safe_to_retry: bool | None = None,
        ok: tuple[int, ...] | None = None,
        time_limit: float | None = None,
    ) -> Response:
        token = creds.page_access_token.strip()
        query = dict(params or {})
        if creds.app_secret:
            # https://developers.facebook.com/docs/graph-api/securing-requests
            query["appsecret_proof"] = hmac.new(
                creds.app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
        return await self.http.request(
            method,
            self._url(path, upload=upload),
            # the token in a header keeps it out of URLs (and proxies' logs)
            headers={"Authorization": f"Bearer {token}"},
            params=query or None,
            data=data,
            safe_to_retry=safe_to_retry,
            ok=ok,
            timeout=time_limit,
        )

    # -- identity -----------------------------------------------------------------
    async def verify(self) -> Identity:
        creds = self._credentials()
        page = decode(
            await self._graph(
                "GET", creds.page_id.strip(), creds, params={"fields": "id,name,username,link"}
            ),
            PageNode,
        )
        # With a Page token /me is the Page itself; with a user token it is the person.
        me = decode(await self._graph("GET", "me", creds, params={"fields": "id,name"}), MeNode)
        if me.id != page.id:
            raise RejectedError(
                f"Invalid Facebook credentials: page_access_token belongs to {me.name or me.id} "
                f"({me.id}), not to the Page {page.name or page.id} ({page.id}). Use the Page's "
                "own access token (GET /me/accounts with your user token lists it), not a user token."
            )
        if page.id != creds.page_id:  # a vanity name was given: store the numeric id
            await self.account.save_credentials({**self.account.credentials, "page_id": page.id})
        return Identity(
            username=page.username or page.name or page.id,
            display_name=page.name or None,
            remote_id=page.id,
            profile_url=page.link or f"{WEB}/{page.id}",
        )

    # -- publishing -----------------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        done = self._published_from_state(job)
        if done is not None:
            return done
        creds = self._credentials()
        if job.state.get("sending") and not job.state.get("video_id"):
            # An earlier final request got no answer: look before sending again.
            found = await self._settled_reconcile(draft, job, creds)
            if found is not None:
                return found
            await job.checkpoint(sending=None)
        if draft.video is not None:
            return await self._publish_video(draft, job, creds)
        if len(draft.images) == 1:
            return await self._publish_photo(draft, job, creds)
        if draft.images:
            return await self._publish_album(draft, job, creds)
        return await self._publish_text(draft, job, creds)

    def _published_from_state(self, job: PublishJob) -> Published | None:
        post_id, url = job.state.get("post_id"), job.state.get("post_url")
        if post_id and url:
            return Published(str(post_id), str(url))
        return None

    async def _finish(self, job: PublishJob, post_id: str) -> Published:
        url = post_url(post_id)
        await job.checkpoint(post_id=post_id, post_url=url, sending=None)
        return Published(post_id, url)

    async def _send_final(self, job: PublishJob, send: Send) -> Response:
        """Send the request that creates the post, its start checkpointed first."""
        now = self.deps.clock()
        await job.checkpoint(
            sending=now,
            sent_since=job.state.get("sent_since") or now,
            sends=int(job.state.get("sends") or 0) + 1,
        )
        try:
            return await send()
        except OutcomeUnknownError:
            raise
        except PlatformError as exc:
            # A 5xx may come after the post was made; a duplicate of an earlier
            # send is handled by the caller. Any other answer created nothing.
            maybe = isinstance(exc, UnavailableError) and not exc.network
            if not maybe and not (isinstance(exc, DuplicateError) and job.state["sends"] > 1):
                await job.checkpoint(sending=None)
            raise

    async def _create_post(
        self, draft: Draft, job: PublishJob, creds: Credentials, send: Send
    ) -> Published:
        """A feed or photo post: the final request, then its `{page}_{post}` id."""
        try:
            resp = await self._send_final(job, send)
        except DuplicateError as exc:
            if int(job.state.get("sends") or 0) <= 1:
                raise
            # A resend refused as a duplicate: the earlier, unanswered send made it.
            found = await self._find_post(draft, job, creds)
            if found is not None:
                return found
            raise OutcomeUnknownError(
                f"{exc.message}. An earlier attempt's answer was lost, yet the post is not on "
                "the Page; check your Facebook Page before re-posting."
            ) from exc
        created = decode(resp, Created)
        return await self._finish(job, full_post_id(creds.page_id, created.post_id or created.id))

    async def _publish_text(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        link = first_url(draft.content) if self._settings().link_preview else None
        feed = f"{creds.page_id}/feed"

        async def send() -> Response:
            if link is None:
                return await self._graph("POST", feed, creds, data={"message": draft.content})
            resp = await self._graph(
                "POST", feed, creds, data={"message": draft.content, "link": link}, ok=(200, 400)
            )
            if resp.status == 200:
                return resp
            if not is_link_error(resp):
                raise self.http.error_for(resp)
            # Facebook could not scrape the link (nothing was posted): post the
            # text alone, the URL stays in it.
            return await self._graph("POST", feed, creds, data={"message": draft.content})

        return await self._create_post(draft, job, creds, send)

    async def _publish_photo(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        image = draft.images[0]
        data = {"url": image.url, "published": "true"}
        if draft.content:
            data["caption"] = draft.content
        if image.alt_text:
            data["alt_text_custom"] = image.alt_text

        async def send() -> Response:
            return await self._graph("POST", f"{creds.page_id}/photos", creds, data=data)

        return await self._create_post(draft, job, creds, send)

    async def _publish_album(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        photo_ids = await self._upload_photos(draft, job, creds)
        data = {
            f"attached_media[{index}]": json.dumps({"media_fbid": photo_id})
            for index, photo_id in enumerate(photo_ids)
        }
        if draft.content:
            data["message"] = draft.content

        async def send() -> Response:
            return await self._graph("POST", f"{creds.page_id}/feed", creds, data=data)

        return await self._create_post(draft, job, creds, send)

    async def _upload_photos(self, draft: Draft, job: PublishJob, creds: Credentials) -> list[str]:
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
                resp = await self._graph(
                    "POST", f"{creds.page_id}/photos", creds, data=data, safe_to_retry=True
                )
                if index == 0:
                    uploaded_at = self.deps.clock()
                entry = {"url": image.url, "id": decode(resp, Created).id}
                entries = [*entries[:index], entry]
                await job.checkpoint(photos=entries, photos_at=uploaded_at)
            ids.append(entry["id"])
        return ids

    async def _publish_video(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        assert draft.video is not None
        video_id = job.state.get("video_id")
        if not video_id:
            data = {"file_url": draft.video.url, "published": "true"}
            if draft.content:
                data["description"] = draft.content

            async def send() -> Response:
                return await self._graph(
                    "POST",
                    f"{creds.page_id}/videos",
                    creds,
                    data=data,
                    upload=True,
                    time_limit=max(self.http.client.timeout, VIDEO_CREATE_TIMEOUT),
                )

            video_id = decode(await self._send_final(job, send), Created).id
            await job.checkpoint(video_id=video_id, sending=None)
        return await self._await_video(job, creds, str(video_id))

    async def _await_video(self, job: PublishJob, creds: Credentials, video_id: str) -> Published:
        """Poll the video until it is processed and has its post (MediaError if it failed)."""

        async def check() -> str | None:
            resp = await self._graph("GET", video_id, creds, params={"fields": "status,post_id"})
            node = decode(resp, VideoNode)
            status = node.status or VideoStatus()
            failure = status.failure()
            if failure is not None:
                await job.checkpoint(video_id=None, sending=None)  # no post: upload afresh
                raise MediaError(f"Facebook could not process the video: {failure}")
            if status.video_status == "ready" and node.post_id:
                return node.post_id
            return None

        post_id = await bounded_poll(
            check,
            interval=self.deps.settings.poll_interval,
            timeout=self.deps.settings.poll_timeout,
            sleep=self.deps.sleep,
            what="video processing",
            label=self.label,
        )
        return await self._finish(job, full_post_id(creds.page_id, str(post_id)))

    # -- recovery -------------------------------------------------------------------
    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = self._published_from_state(job)
        if done is not None:
            return done
        if not job.state.get("video_id") and not job.state.get("sending"):
            return None  # the final request never left, or was refused outright
        creds = self._credentials()
        try:
            if job.state.get("video_id"):
                return await self._await_video(job, creds, str(job.state["video_id"]))
            found = await self._settled_reconcile(draft, job, creds)
        except MediaError:
            return None  # the video failed processing: there is no post
        except OutcomeUnknownError:
            raise
        except PlatformError as exc:
            raise OutcomeUnknownError(
                f"Facebook did not confirm the post and the Page could not be checked "
                f"({exc.message}); check your Facebook Page before re-posting."
            ) from exc
        if found is None:
            await job.checkpoint(sending=None)  # provably not there: a resend is safe
        return found

    async def _settled_reconcile(
        self, draft: Draft, job: PublishJob, creds: Credentials
    ) -> Published | None:
        """`_reconcile`, trusting "not on the Page" only once the Page can list a post
        made as late as the unanswered request (a slow create lists late)."""
        limit = VIDEO_CREATE_TIMEOUT if draft.video is not None else None
        try:
            return await settled_lookup(
                lambda: self._reconcile(draft, job, creds),
                sent_at=float(job.state.get("sending") or self.deps.clock()),
                window=window_for(self.deps, limit),
                deps=self.deps,
            )
        except Inconclusive:
            raise OutcomeUnknownError(
                "Facebook did not confirm the post and it is not on the Page yet; check your "
                "Facebook Page before re-posting."
            ) from None

    async def _reconcile(
        self, draft: Draft, job: PublishJob, creds: Credentials
    ) -> Published | None:
        """Find what an unanswered final request created; None when the Page has no such post."""
        if draft.video is None:
            return await self._find_post(draft, job, creds)
        video_id = await self._find_video(draft, job, creds)
        if video_id is None:
            return None
        await job.checkpoint(video_id=video_id, sending=None)
        return await self._await_video(job, creds, video_id)

    async def _find_post(
        self, draft: Draft, job: PublishJob, creds: Credentials
    ) -> Published | None:
        """The Page's post with the draft's text, created since the first send."""
        found = await self._scan(draft, job, creds, "posts", "id,message,created_time")
        return (
            None if found is None else await self._finish(job, full_post_id(creds.page_id, found))
        )

    async def _find_video(self, draft: Draft, job: PublishJob, creds: Credentials) -> str | None:
        return await self._scan(draft, job, creds, "videos", "id,description,created_time")

    async def _scan(
        self, draft: Draft, job: PublishJob, creds: Credentials, edge: str, fields: str
    ) -> str | None:
        """Id of the Page's post/video with the draft's text since the first send."""
        since = float(job.state.get("sent_since") or self.deps.clock()) - CLOCK_SLACK

        async def get(params: dict[str, str]) -> Response:
            return await self._graph("GET", f"{creds.page_id}/{edge}", creds, params=params)

        return await find_on_page(get, fields, comparable(draft.content), since)
