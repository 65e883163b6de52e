"""Threads (Meta Threads API): text, one image or video, or a carousel of 2-20 items.

Docs: https://developers.facebook.com/docs/threads/posts,
https://developers.facebook.com/docs/threads/get-started/long-lived-tokens,
https://developers.facebook.com/docs/threads/troubleshooting.

Threads fetches media from the post's public URLs itself. The container ->
status -> publish flow, checkpoints, recovery, quota and token refresh live in
`_meta_publish.py` (shared with Instagram); this module holds the Threads rules:
its length count, the 5-link limit and the container parameters.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec
import regex
from twitter_text import extract_urls

from octopost.platforms._graph.containers import GraphApi, GraphPublisher, Plan
from octopost.platforms._graph.errors import graph_error
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
from octopost.platforms.errors import MediaError, PlatformError, RejectedError

MAX_LINKS = 5
MAX_ALT_TEXT = 1000
MAX_CAROUSEL = 20
LINK_LIMIT_CODE = "THREADS_API__LINK_LIMIT_EXCEEDED"

_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_SCHEME = regex.compile(r"^[a-z][a-z0-9+.-]*://", regex.IGNORECASE)


def threads_length(text: str) -> int:
    """Length as Threads counts it: "Emojis are counted as the number of UTF-8 bytes".

    That sentence (developers.facebook.com/documentation/threads/posts, "Limitations",
    still the only statement in the April 2026 revision, next to "Text posts are limited
    to 500 characters") is all Meta publishes: no algorithm, no vectors, no library, and
    nothing on ZWJ sequences or on what unit other text counts in. Rule kept here: an
    emoji grapheme (pictographic, flag or keycap, with its modifiers, VS16 and ZWJ parts)
    counts all its UTF-8 bytes (U+1F44D = 4, a ZWJ family of three = 18), the most a
    reading of that sentence can give, so it never undercounts it; everything else counts
    one per code point.
    """
    length = 0
    for grapheme in _GRAPHEME.findall(text):
        length += len(grapheme.encode()) if _EMOJI.search(grapheme) else len(grapheme)
    return length


def unique_links(text: str) -> set[str]:
    """The distinct links in `text`, bare domains included ("www.facebook.com" is one).

    Scheme, host case and a trailing slash do not make a link different.
    """
    links: set[str] = set()
    for url in extract_urls(text):
        rest = _SCHEME.sub("", url)
        host, slash, path = rest.partition("/")
        links.add((host.lower() + slash + path).rstrip("/"))
    return links


class ThreadsSettings(msgspec.Struct):
    """`account.settings` for Threads."""

    #: who may reply; omitted: everyone (Threads' default)
    reply_control: (
        Literal[
            "everyone",
            "accounts_you_follow",
            "mentioned_only",
            "parent_post_author_only",
            "followers_only",
        ]
        | None
    ) = None


def _classify(resp: Response) -> PlatformError | None:
    err = graph_error(resp)
    if err is None:
        return None
    if err.mentions(LINK_LIMIT_CODE):
        return RejectedError(
            f"Threads allows at most {MAX_LINKS} links in a post ({LINK_LIMIT_CODE}).",
            status=resp.status,
        )
    if "could not be fetched" in err.message.lower():
        return MediaError(f"Threads could not fetch the media: {err.message}", status=resp.status)
    return None


def _profile_url(username: str) -> str:
    return f"https://www.threads.net/@{username}" if username else "https://www.threads.net/"


API = GraphApi(
    label="Threads",
    create_edge="threads",
    publish_edge="threads_publish",
    quota_edge="threads_publishing_limit",
    status_fields="status,error_message",
    status_key="status",
    error_key="error_message",
    text_field="text",
    refresh_grant="th_refresh_token",
    profile_url=_profile_url,
)


class ThreadsAdapter:
    platform: ClassVar[str] = "threads"
    label: ClassVar[str] = "Threads"
    limits: ClassVar[Limits] = Limits(
        max_chars=500, max_images=MAX_CAROUSEL, needs_public_media=True
    )
    # Graph paths are versioned (/v1.0/...), token endpoints are not.
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(
        base_url="https://graph.threads.net",
        api_version="v1.0",
        poll_interval=5.0,
        poll_timeout=600.0,
    )

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps
        self.graph = GraphPublisher(API, account, deps, extra=_classify)

    # -- rules -------------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        return threads_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        items = len(draft.images) + (1 if draft.video is not None else 0)
        if items == 0 and not draft.content.strip():
            problems.append("Threads needs text, an image or a video.")
        if items > MAX_CAROUSEL:
            problems.append(
                f"A Threads carousel holds at most {MAX_CAROUSEL} items; the post has {items}."
            )
        links = len(unique_links(draft.content))
        if links > MAX_LINKS:
            problems.append(
                f"Threads allows at most {MAX_LINKS} links in a post; this one has {links}."
            )
        for number, image in enumerate(draft.images, 1):
            if image.alt_text and len(image.alt_text) > MAX_ALT_TEXT:
                problems.append(
                    f"Alt text of image {number} is {len(image.alt_text)} characters; "
                    f"Threads allows {MAX_ALT_TEXT}."
                )
        return problems

    async def current_limits(self) -> Limits:
        return self.limits

    def _settings(self) -> ThreadsSettings:
        try:
            return msgspec.convert(self.account.settings or {}, ThreadsSettings, strict=False)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid Threads account settings: {exc}") from exc

    # -- identity ------------------------------------------------------------------
    async def verify(self) -> Identity:
        me = await self.graph.session.me("id,username,name")
        user_id, username = str(me.get("id") or ""), str(me.get("username") or "")
        await self.graph.session.adopt_user_id(user_id)
        await self.graph.session.refresh_if_due()
        return Identity(
            username=username,
            display_name=str(me.get("name") or "") or None,
            remote_id=user_id or None,
            profile_url=_profile_url(username),
        )

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
        reply_control = self._settings().reply_control
        if reply_control:
            post["reply_control"] = reply_control
        if not media:
            return Plan([], {"media_type": "TEXT", **post}, draft.content)
        if len(media) == 1:
            return Plan([], {**media[0], **post}, draft.content)
        items = [{**item, "is_carousel_item": "true"} for item in media]
        return Plan(items, {"media_type": "CAROUSEL", **post}, draft.content)

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        return await self.graph.publish(self._plan(draft), job)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        return await self.graph.recover(self._plan(draft), job)
