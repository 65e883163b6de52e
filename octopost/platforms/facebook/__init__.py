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
  checkpointed), then GET /{video}?fields=status,post_id until it is ready (`media.py`).

No create is idempotent. The time the final request leaves is checkpointed first;
after a lost answer recover() looks for the post on the Page (GET /{page}/posts,
or /{page}/videos for a video) before anything is sent again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import ClassVar

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._graph.session import GraphSession
from octopost.platforms._http import Response
from octopost.platforms._lookup import Inconclusive, settled_lookup, window_for
from octopost.platforms._text import comparable, utf16_length
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
    LABEL,
    WEB,
    Created,
    Credentials,
    FacebookOptions,
    MeNode,
    PageNode,
    authorize,
    classify,
    credentials,
    find_on_page,
    first_url,
    full_post_id,
    is_link_error,
    post_url,
)
from octopost.platforms.facebook.media import Media
from octopost.platforms.facebook.oauth import FLOW

#: Our clock vs Facebook's `created_time` when matching a post after a lost answer.
CLOCK_SLACK = 300.0
#: Facebook downloads `file_url` before it answers the video create.
VIDEO_CREATE_TIMEOUT = 300.0

Send = Callable[[], Awaitable[Response]]


class FacebookAdapter(BaseAdapter):
    platform: ClassVar[str] = "facebook"
    label: ClassVar[str] = LABEL
    #: 63,206 is the widely cited message cap (not in the Graph reference). No
    #: documented photo count per post; 10 keeps well clear of the reported
    #: failures with many photos and a long message.
    limits: ClassVar[Limits] = Limits(
        max_chars=63206, max_images=10, images_with_video=False, needs_public_media=True
    )
    options: ClassVar[type[Options]] = FacebookOptions
    threading: ClassVar[str] = "joined"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        # Page tokens are not refreshed: they last as long as the user's grant
        self.api = GraphSession(LABEL, account, deps, classify=classify, authorize=authorize)
        self.media = Media(self.api)

    # -- rules ----------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        # Facebook documents no counting rule. UTF-16 code units (a JavaScript
        # string's length) are never fewer than code points: the safe choice.
        return utf16_length(text)

    def _credentials(self) -> Credentials:
        return credentials(self.account.credentials)

    def _options(self) -> FacebookOptions:
        return FacebookOptions.of(self.account.settings, LABEL)

    # -- identity -----------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()
        creds = self._credentials()
        resp = await self.api.call(
            "GET", creds.page_id.strip(), params={"fields": "id,name,username,link"}
        )
        page = resp.decode(PageNode)
        # With a Page token /me is the Page itself; with a user token it is the person.
        me = (await self.api.call("GET", "me", params={"fields": "id,name"})).decode(MeNode)
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
        self._options()  # bad settings: refused before anything is sent
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
        created = resp.decode(Created)
        return await self._finish(job, full_post_id(creds.page_id, created.post_id or created.id))

    async def _publish_text(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        link = first_url(draft.content) if self._options().link_preview else None
        feed = f"{creds.page_id}/feed"

        async def send() -> Response:
            if link is None:
                return await self.api.call("POST", feed, data={"message": draft.content})
            resp = await self.api.call(
                "POST", feed, data={"message": draft.content, "link": link}, ok=(200, 400)
            )
            if resp.status == 200:
                return resp
            if not is_link_error(resp):
                raise self.api.http.error_for(resp)
            # Facebook could not scrape the link (nothing was posted): post the
            # text alone, the URL stays in it.
            return await self.api.call("POST", feed, data={"message": draft.content})

        return await self._create_post(draft, job, creds, send)

    async def _publish_photo(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        image = draft.images[0]
        data = {"url": image.url, "published": "true"}
        if draft.content:
            data["caption"] = draft.content
        if image.alt_text:
            data["alt_text_custom"] = image.alt_text

        async def send() -> Response:
            return await self.api.call("POST", f"{creds.page_id}/photos", data=data)

        return await self._create_post(draft, job, creds, send)

    async def _publish_album(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        photo_ids = await self.media.photos(draft, job, creds.page_id)
        data = {
            f"attached_media[{index}]": json.dumps({"media_fbid": photo_id})
            for index, photo_id in enumerate(photo_ids)
        }
        if draft.content:
            data["message"] = draft.content

        async def send() -> Response:
            return await self.api.call("POST", f"{creds.page_id}/feed", data=data)

        return await self._create_post(draft, job, creds, send)

    async def _publish_video(self, draft: Draft, job: PublishJob, creds: Credentials) -> Published:
        assert draft.video is not None
        video_id = job.state.get("video_id")
        if not video_id:
            data = {"file_url": draft.video.url, "published": "true"}
            if draft.content:
                data["description"] = draft.content

            async def send() -> Response:
                return await self.api.call(
                    "POST",
                    f"{creds.page_id}/videos",
                    data=data,
                    upload=True,
                    timeout=max(self.deps.http.timeout, VIDEO_CREATE_TIMEOUT),
                )

            video_id = (await self._send_final(job, send)).decode(Created).id
            await job.checkpoint(video_id=video_id, sending=None)
        return await self._await_video(job, creds, str(video_id))

    async def _await_video(self, job: PublishJob, creds: Credentials, video_id: str) -> Published:
        post_id = await self.media.video_post(job, video_id)
        return await self._finish(job, full_post_id(creds.page_id, post_id))

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
            return await self.api.call("GET", f"{creds.page_id}/{edge}", params=params)

        return await find_on_page(get, fields, comparable(draft.content), since)
