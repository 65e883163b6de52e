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

log = logging.getLogger("octopost.checks")

#: why a media URL must not be fetched (the address guard), or None
UrlCheck = Callable[[str], Awaitable[str | None]]


class PlatformCheck(msgspec.Struct, omit_defaults=True):
    """One platform's verdict on one post."""

    ok: bool
    length: int
    limit: int
    problems: list[str] = msgspec.field(default_factory=list)
    #: active, reauth_required, missing, or sandbox (no account needed)
    account: str = "active"


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
    draft: Draft,
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
            try:
                limits = await adapter.current_limits()
            except PlatformError as exc:
                # The account's own limits could not be read; the defaults still apply.
                log.warning("could not read %s limits: %s", platform, exc.message)
    problems = cls.check(draft, limits) + problems
    return PlatformCheck(
        ok=not problems,
        length=cls.measure(draft.content),
        limit=limits.max_chars,
        problems=problems,
        account=account_state,
    )


async def check_post(
    post: Post,
    platforms: list[str],
    *,
    accounts: AccountService,
    make_adapter: Callable[[str, Account], Adapter],
    url_check: UrlCheck | None = None,
) -> dict[str, PlatformCheck]:
    draft = draft_of(post)
    checks = {
        platform: await check_platform(
            platform, draft, sandbox=post.sandbox, accounts=accounts, make_adapter=make_adapter
        )
        for platform in platforms
    }
    # The address guard a publish applies to every media URL, applied up front, so a
    # dry run never calls valid what the publish would refuse.
    refused = await _refused_media(draft, url_check) if url_check is not None else []
    for check in checks.values():
        if refused:
            check.problems.extend(refused)
            check.ok = False
    return checks


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
