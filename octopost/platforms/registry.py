"""The adapter registry: platform id -> adapter class, a literal table.

Importing it loads every adapter (and their HTTP and text machinery); modules that only
need the platform ids or their settings read `octopost.platforms` instead.
"""

from __future__ import annotations

import logging

from octopost.platforms.base import Adapter
from octopost.platforms.bluesky import BlueskyAdapter
from octopost.platforms.facebook import FacebookAdapter
from octopost.platforms.instagram import InstagramAdapter
from octopost.platforms.linkedin import LinkedinAdapter
from octopost.platforms.mastodon import MastodonAdapter
from octopost.platforms.threads import ThreadsAdapter
from octopost.platforms.tiktok import TiktokAdapter
from octopost.platforms.twitter import TwitterAdapter
from octopost.platforms.youtube import YoutubeAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "twitter": TwitterAdapter,
    "bluesky": BlueskyAdapter,
    "mastodon": MastodonAdapter,
    "linkedin": LinkedinAdapter,
    "threads": ThreadsAdapter,
    "instagram": InstagramAdapter,
    "facebook": FacebookAdapter,
    "tiktok": TiktokAdapter,
    "youtube": YoutubeAdapter,
}


def prepare(platforms: list[str]) -> None:
    """Build the text rules of these platforms now (`Adapter.prepare`); run in a worker
    thread after start-up and when an account is connected.

    Only ahead of need: a failure is logged and leaves the rules to be built at their
    first use, where it would show again; it never fails a start, a shutdown or a connect."""
    for platform in platforms:
        if platform in ADAPTERS:
            try:
                ADAPTERS[platform].prepare()
            except Exception:
                logging.getLogger("octopost.platforms").exception(
                    "could not prepare the %s text rules ahead of use", platform
                )
