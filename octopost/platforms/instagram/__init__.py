"""Instagram (Instagram Platform content publishing): one image, one Reel, or a carousel.

Docs: https://developers.facebook.com/docs/instagram-platform/content-publishing,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media,
.../reference/ig-user/content_publishing_limit, .../reference/refresh_access_token.

Default variant: "Instagram API with Instagram Login" on graph.instagram.com
(professional accounts, no Facebook Page needed, 60-day refreshable tokens).
Pointing `[platforms.instagram] base_url` at https://graph.facebook.com selects
the Facebook Login variant: then `user_id` (the IG business account id) is
required and the token (a Page token) is not refreshed here.

Instagram fetches media from the post's public URLs itself. The container ->
status -> publish flow, checkpoints, recovery, quota and token refresh live in
`_graph/` (shared with Threads).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import ClassVar
from urllib.parse import urlsplit

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._graph import containers
from octopost.platforms._graph.containers import Containers, Plan
from octopost.platforms._graph.session import GraphSession
from octopost.platforms._http import chain
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
    standard_checks,
)
from octopost.platforms.errors import RejectedError
from octopost.platforms.instagram.api import (
    FLOW,
    LABEL,
    REFRESH_GRANT,
    InstagramOptions,
    classify,
    profile_url,
)
from octopost.platforms.instagram.oauth import FLOW as OAUTH_FLOW
from octopost.platforms.instagram.text import hashtags, mentions

MAX_CAROUSEL = 10
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_ALT_TEXT = 1000
#: Instagram takes JPEG only (PNG is refused with subcode 2207005). URLs with these
#: endings are refused before sending; others are left to Instagram to judge.
NOT_JPEG = frozenset(
    {".png", ".gif", ".webp", ".heic", ".heif", ".bmp", ".tif", ".tiff", ".avif", ".svg"}
)


class InstagramAdapter(BaseAdapter):
    platform: ClassVar[str] = "instagram"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(
        max_chars=2200,
        max_images=MAX_CAROUSEL,
        max_items=MAX_CAROUSEL,
        requires_media=True,
        max_alt_text=MAX_ALT_TEXT,
        needs_public_media=True,
    )
    options: ClassVar[type[Options]] = InstagramOptions
    threading: ClassVar[str] = "first"
    oauth: ClassVar[OAuthFlow | None] = OAUTH_FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.facebook_login = "graph.facebook.com" in deps.settings.base_url
        self.api = GraphSession(
            LABEL,
            account,
            deps,
            classify=chain(containers.classify, classify),
            # a Facebook Login (Page) token is not refreshed here
            refresh_grant=None if self.facebook_login else REFRESH_GRANT,
            user_id_field="user_id",
        )
        self.containers = Containers(FLOW, self.api)

    # -- rules -------------------------------------------------------------------
    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        tags = len(hashtags(draft.content))
        if tags > MAX_HASHTAGS:
            problems.append(
                f"Instagram allows at most {MAX_HASHTAGS} hashtags; the caption has {tags}."
            )
        names = len(mentions(draft.content))
        if names > MAX_MENTIONS:
            problems.append(
                f"Instagram allows at most {MAX_MENTIONS} @mentions; the caption has {names}."
            )
        for number, image in enumerate(draft.images, 1):
            suffix = PurePosixPath(urlsplit(image.url).path).suffix.lower()
            if suffix in NOT_JPEG:
                problems.append(
                    f"Instagram accepts only JPEG images; image {number} is a {suffix[1:].upper()} file."
                )
        return problems

    def _options(self) -> InstagramOptions:
        return InstagramOptions.of(self.account.settings, LABEL)

    # -- identity ------------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()
        if self.facebook_login:
            # /me would be the Facebook user: read the IG business account itself.
            user_id = self.api.credentials().user_id
            if not user_id:
                raise RejectedError(
                    "Invalid Instagram credentials: user_id (the Instagram business account id) "
                    "is required with graph.facebook.com"
                )
            resp = await self.api.call("GET", user_id, params={"fields": "id,username,name"})
            me = resp.json() if isinstance(resp.json(), dict) else {}
        else:
            me = await self.api.me("user_id,username,name,account_type")
            user_id = str(me.get("user_id") or me.get("id") or "")
        await self.api.adopt_user_id(user_id)
        await self.api.refresh_if_due()
        username = str(me.get("username") or "")
        return Identity(
            username=username,
            display_name=str(me.get("name") or "") or None,
            remote_id=user_id or None,
            profile_url=profile_url(username),
        )

    async def keep_alive(self) -> None:
        # A 60-day token not refreshed in time dies (Meta then wants a new consent), so
        # it is renewed in its last week even when nothing is published.
        await self.api.refresh_if_due()

    # -- publishing --------------------------------------------------------------------
    def _plan(self, draft: Draft) -> Plan:
        caption: dict[str, str] = {"caption": draft.content} if draft.content else {}
        images = [
            {"image_url": image.url} | ({"alt_text": image.alt_text} if image.alt_text else {})
            for image in draft.images
        ]
        if draft.video is not None and not images:
            # Single videos are published as Reels (media_type=VIDEO retired 2023-11-09).
            reel = {"media_type": "REELS", "video_url": draft.video.url, **caption}
            if draft.video.thumbnail_url:
                reel["cover_url"] = draft.video.thumbnail_url
            share = self._options().share_to_feed
            if share is not None:
                reel["share_to_feed"] = "true" if share else "false"
            return Plan([], reel, draft.content)
        if len(images) == 1 and draft.video is None:
            return Plan([], {**images[0], **caption}, draft.content)
        items = [{**image, "is_carousel_item": "true"} for image in images]
        if draft.video is not None:
            # Carousel videos are still media_type=VIDEO (Reels cannot be carousel items).
            items.append(
                {"media_type": "VIDEO", "video_url": draft.video.url, "is_carousel_item": "true"}
            )
        return Plan(items, {"media_type": "CAROUSEL", **caption}, draft.content)

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        self._options()  # bad settings: refused before anything is sent
        if draft.video is None and not draft.images:
            raise RejectedError("Instagram needs an image or a video.")
        return await self.containers.publish(self._plan(draft), job)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        return await self.containers.recover(self._plan(draft), job)
