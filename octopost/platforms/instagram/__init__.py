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
`_meta_publish.py` (shared with Threads).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import ClassVar
from urllib.parse import urlsplit

import msgspec
import regex

from octopost.platforms._graph.containers import GraphApi, GraphPublisher, Plan
from octopost.platforms._graph.errors import describe, graph_error
from octopost.platforms._http import Response
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
from octopost.platforms.errors import PlatformError, RateLimitedError, RejectedError

MAX_CAROUSEL = 10
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_ALT_TEXT = 1000
#: Instagram takes JPEG only (PNG is refused with subcode 2207005). URLs with these
#: endings are refused before sending; others are left to Instagram to judge.
NOT_JPEG = frozenset(
    {".png", ".gif", ".webp", ".heic", ".heif", ".bmp", ".tif", ".tiff", ".avif", ".svg"}
)
#: code 9 / 2207042: the account's daily publishing limit is reached.
QUOTA_SUBCODE = 2207042

_HASHTAG = regex.compile(r"(?<![\w#&])#(\w+)")
_MENTION = regex.compile(r"(?<![\w@.])@([A-Za-z0-9._]{1,30})")


def hashtags(text: str) -> set[str]:
    """Distinct hashtags (case-insensitive), as counted against the limit of 30."""
    return {tag.casefold() for tag in _HASHTAG.findall(text)}


def mentions(text: str) -> set[str]:
    """Distinct @-mentions (case-insensitive), as counted against the limit of 20."""
    return {name.casefold() for name in _MENTION.findall(text)}


class InstagramSettings(msgspec.Struct):
    """`account.settings` for Instagram."""

    #: Reels only: also show the Reel in the profile feed (omitted: Instagram's default)
    share_to_feed: bool | None = None


def _classify(resp: Response) -> PlatformError | None:
    err = graph_error(resp)
    if err is not None and err.error_subcode == QUOTA_SUBCODE:
        return RateLimitedError(
            f"Instagram publishing limit reached: {describe(err)}", status=resp.status
        )
    return None


def _profile_url(username: str) -> str:
    return f"https://www.instagram.com/{username}/" if username else "https://www.instagram.com/"


API = GraphApi(
    label="Instagram",
    create_edge="media",
    publish_edge="media_publish",
    quota_edge="content_publishing_limit",
    status_fields="status_code,status",
    status_key="status_code",
    error_key="status",
    text_field="caption",
    refresh_grant="ig_refresh_token",
    profile_url=_profile_url,
    user_id_field="user_id",
)


class InstagramAdapter:
    platform: ClassVar[str] = "instagram"
    label: ClassVar[str] = "Instagram"
    limits: ClassVar[Limits] = Limits(
        max_chars=2200, max_images=MAX_CAROUSEL, requires_media=True, needs_public_media=True
    )
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://graph.instagram.com",
        api_version="v25.0",
        poll_interval=5.0,
        poll_timeout=600.0,
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.facebook_login = "graph.facebook.com" in deps.settings.base_url
        api = replace(API, refresh_grant=None) if self.facebook_login else API
        self.graph = GraphPublisher(api, account, deps, extra=_classify)

    # -- rules -------------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        # Meta does not define the unit; code points.
        return len(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        items = len(draft.images) + (1 if draft.video is not None else 0)
        if items > MAX_CAROUSEL:
            problems.append(
                f"An Instagram carousel holds at most {MAX_CAROUSEL} items; the post has {items}."
            )
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
            if image.alt_text and len(image.alt_text) > MAX_ALT_TEXT:
                problems.append(
                    f"Alt text of image {number} is {len(image.alt_text)} characters; "
                    f"Instagram allows {MAX_ALT_TEXT}."
                )
        return problems

    async def current_limits(self) -> Limits:
        return self.limits

    def _settings(self) -> InstagramSettings:
        try:
            return msgspec.convert(self.account.settings or {}, InstagramSettings, strict=False)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid Instagram account settings: {exc}") from exc

    # -- identity ------------------------------------------------------------------
    async def verify(self) -> Identity:
        if self.facebook_login:
            # /me would be the Facebook user: read the IG business account itself.
            user_id = self.graph.session.credentials().user_id
            if not user_id:
                raise RejectedError(
                    "Invalid Instagram credentials: user_id (the Instagram business account id) "
                    "is required with graph.facebook.com"
                )
            resp = await self.graph.session.call(
                "GET", user_id, params={"fields": "id,username,name"}
            )
            me = resp.json() if isinstance(resp.json(), dict) else {}
        else:
            me = await self.graph.session.me("user_id,username,name,account_type")
            user_id = str(me.get("user_id") or me.get("id") or "")
        await self.graph.session.adopt_user_id(user_id)
        await self.graph.session.refresh_if_due()
        username = str(me.get("username") or "")
        return Identity(
            username=username,
            display_name=str(me.get("name") or "") or None,
            remote_id=user_id or None,
            profile_url=_profile_url(username),
        )

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
            share = self._settings().share_to_feed
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
        if draft.video is None and not draft.images:
            raise RejectedError("Instagram needs an image or a video.")
        return await self.graph.publish(self._plan(draft), job)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        return await self.graph.recover(self._plan(draft), job)
