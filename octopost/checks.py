"""Publish-time checks: would each platform take this post, and is its account usable?

Used by the publish endpoint (422 before anything is sent), by the publisher for
scheduled posts, and by the dry-run endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec

from octopost.accounts import AccountService, reconnect_message
from octopost.models import AccountStatus, Post
from octopost.platforms import ADAPTERS
from octopost.platforms.base import Account, Adapter, Draft, ImageRef, Limits, VideoRef
from octopost.platforms.errors import PlatformError
from octopost.shaping import Shaped, draft_for, shape

log = logging.getLogger("octopost.checks")

#: why a media URL must not be fetched (the address guard), or None
UrlCheck = Callable[[str], Awaitable[str | None]]


class SegmentCheck(msgspec.Struct, omit_defaults=True):
    """One post of a thread as one platform will get it (the dry run's preview)."""

    content: str
    length: int
    limit: int
    ok: bool
    problems: list[str] = msgspec.field(default_factory=list)


class PlatformCheck(msgspec.Struct, omit_defaults=True):
    """One platform's verdict on one post."""

    ok: bool
    length: int
    limit: int
    problems: list[str] = msgspec.field(default_factory=list)
    #: active, reauth_required, missing, or sandbox (no account needed)
    account: str = "active"
    #: what the post becomes on this platform (`shaping.Shaped.mode`)
    mode: str = "single"
    #: a thread's segments with their counts (None for one post)
    segments: list[SegmentCheck] | None = None


def check_drafts(platform: str, shaped: Shaped, limits: Limits) -> PlatformCheck:
    """The platform's own checks of what it will get: each segment of a thread (the
    problems name the segment), or the one post."""
    cls = ADAPTERS[platform]
    drafts = shaped.drafts
    if shaped.mode != "thread":
        draft = drafts[0]
        problems = cls.check(draft, limits)
        if shaped.mode == "joined" and problems:
            problems = [
                f"{cls.label} has no threads, so the segments are published joined into one "
                f"post: {problem}"
                for problem in problems
            ]
        return PlatformCheck(
            ok=not problems,
            length=cls.measure(draft.content),
            limit=limits.max_chars,
            problems=problems,
            mode=shaped.mode,
        )
    segments = []
    problems = []
    for i, draft in enumerate(drafts):
        found = cls.check(draft, limits)
        problems += [f"Segment {i + 1} of {len(drafts)}: {p}" for p in found]
        segments.append(
            SegmentCheck(
                draft.content, cls.measure(draft.content), limits.max_chars, not found, found
            )
        )
    return PlatformCheck(
        ok=not problems,
        length=max(s.length for s in segments),
        limit=limits.max_chars,
        problems=problems,
        mode="thread",
        segments=segments,
    )


async def account_limits(adapter: Adapter, platform: str) -> Limits:
    """The account's own limits (a Mastodon instance's), else the platform's defaults."""
    try:
        return await adapter.current_limits()
    except PlatformError as exc:
        # The account's own limits could not be read; the defaults still apply.
        log.warning("could not read %s limits: %s", platform, exc.message)
        return ADAPTERS[platform].limits


def draft_of(post: Post) -> Draft:
    media = post.media
    return Draft(
        content=post.content,
        images=tuple(ImageRef(i.url, i.alt_text) for i in media.images) if media else (),
        video=VideoRef(media.video.url, media.video.thumbnail_url)
        if media and media.video
        else None,
        language=post.language,
    )


async def check_platform(
    platform: str,
    post: Post,
    *,
    sandbox: bool,
    accounts: AccountService,
    make_adapter: Callable[[str, Account], Adapter],
) -> PlatformCheck:
    cls = ADAPTERS[platform]
    limits: Limits = cls.limits
    account_state = "sandbox" if sandbox else "active"
    problems: list[str] = []
    if not sandbox:
        record = await accounts.for_platform(platform)
        if record is None:
            account_state = "missing"
            problems.append(
                f"No {cls.label} account is connected. Connect one with POST /v1/accounts."
            )
        elif record.status is not AccountStatus.ACTIVE:
            account_state = record.status.value
            problems.append(reconnect_message(platform))
        else:
            adapter = make_adapter(platform, await accounts.handle(record))
            limits = await account_limits(adapter, platform)
    check = check_drafts(platform, shape(post, platform, limits.max_chars), limits)
    check.problems += problems
    check.ok = not check.problems
    check.account = account_state
    return check


async def check_post(
    post: Post,
    platforms: list[str],
    *,
    accounts: AccountService,
    make_adapter: Callable[[str, Account], Adapter],
    url_check: UrlCheck | None = None,
) -> dict[str, PlatformCheck]:
    checks = {
        platform: await check_platform(
            platform, post, sandbox=post.sandbox, accounts=accounts, make_adapter=make_adapter
        )
        for platform in platforms
    }
    # The address guard a publish applies to every media URL, applied up front, so a
    # dry run never calls valid what the publish would refuse.
    refused = []
    if url_check is not None:
        for draft in _every_version(post):
            refused += [p for p in await _refused_media(draft, url_check) if p not in refused]
    for check in checks.values():
        if refused:
            check.problems.extend(refused)
            check.ok = False
    return checks


def _every_version(post: Post) -> list[Draft]:
    """Every text-and-media a publish of `post` may send (each segment, each override)."""
    drafts = [draft_of(post)]
    for segment in post.segments or []:
        drafts.append(draft_for(segment.content, segment.media, None))
    for override in (post.overrides or {}).values():
        if override.media is not None:
            drafts.append(draft_for("", override.media, None))
        for segment in override.segments or []:
            drafts.append(draft_for(segment.content, segment.media, None))
    return drafts


async def _refused_media(draft: Draft, url_check: UrlCheck) -> list[str]:
    urls = [image.url for image in draft.images]
    if draft.video is not None:
        urls += [
            draft.video.url,
            *([draft.video.thumbnail_url] if draft.video.thumbnail_url else []),
        ]
    problems = []
    for url in dict.fromkeys(urls):
        problem = await url_check(url)
        if problem is not None:
            problems.append(f"Media URL {url} {problem}.")
    return problems
