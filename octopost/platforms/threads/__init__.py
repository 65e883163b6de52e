"""Threads (Meta Threads API): text, one image or video, or a carousel of 2-20 items.

Docs: https://developers.facebook.com/docs/threads/posts,
https://developers.facebook.com/docs/threads/get-started/long-lived-tokens,
https://developers.facebook.com/docs/threads/troubleshooting.

Threads fetches media from the post's public URLs itself. The container ->
status -> publish flow, checkpoints, recovery, quota and token refresh live in
`_graph/containers.py` (shared with Instagram); this package holds the Threads rules:
its length count (`text.py`), the 5-link limit and the container parameters.
"""

from __future__ import annotations

from typing import ClassVar

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
from octopost.platforms.threads.api import (
    FLOW,
    LABEL,
    MAX_LINKS,
    REFRESH_GRANT,
    ThreadsOptions,
    classify,
    profile_url,
)
from octopost.platforms.threads.oauth import FLOW as OAUTH_FLOW
from octopost.platforms.threads.text import prepare as prepare_text
from octopost.platforms.threads.text import threads_length, unique_links

MAX_ALT_TEXT = 1000
MAX_CAROUSEL = 20


class ThreadsAdapter(BaseAdapter):
    platform: ClassVar[str] = "threads"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(
        max_chars=500,
        max_images=MAX_CAROUSEL,
        max_items=MAX_CAROUSEL,
        max_alt_text=MAX_ALT_TEXT,
        needs_public_media=True,
    )
    options: ClassVar[type[Options]] = ThreadsOptions
    threading: ClassVar[str] = "native"
    oauth: ClassVar[OAuthFlow | None] = OAUTH_FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = GraphSession(
            LABEL,
            account,
            deps,
            classify=chain(containers.classify, classify),
            refresh_grant=REFRESH_GRANT,
        )
        self.containers = Containers(FLOW, self.api)

    # -- rules -------------------------------------------------------------------
    @classmethod
    def prepare(cls) -> None:
        prepare_text()

    @classmethod
    def measure(cls, text: str) -> int:
        return threads_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        links = len(unique_links(draft.content))
        if links > MAX_LINKS:
            problems.append(
                f"Threads allows at most {MAX_LINKS} links in a post; this one has {links}."
            )
        return problems

    def _options(self) -> ThreadsOptions:
        return ThreadsOptions.of(self.account.settings, LABEL)

    # -- identity ------------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()
        me = await self.api.me("id,username,name")
        user_id, username = str(me.get("id") or ""), str(me.get("username") or "")
        await self.api.adopt_user_id(user_id)
        await self.api.refresh_if_due()
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
        media: list[dict[str, str]] = [
            {"media_type": "IMAGE", "image_url": image.url}
            | ({"alt_text": image.alt_text} if image.alt_text else {})
            for image in draft.images
        ]
        if draft.video is not None:
            media.append({"media_type": "VIDEO", "video_url": draft.video.url})
        post: dict[str, str] = {"text": draft.content} if draft.content else {}
        reply_control = self._options().reply_control
        if reply_control:
            post["reply_control"] = reply_control
        if draft.reply is not None:  # a later segment of a thread: under the one before
            post["reply_to_id"] = draft.reply.parent.post_id
        if not media:
            return Plan([], {"media_type": "TEXT", **post}, draft.content)
        if len(media) == 1:
            return Plan([], {**media[0], **post}, draft.content)
        items = [{**item, "is_carousel_item": "true"} for item in media]
        return Plan(items, {"media_type": "CAROUSEL", **post}, draft.content)

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        return await self.containers.publish(self._plan(draft), job)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        return await self.containers.recover(self._plan(draft), job)
