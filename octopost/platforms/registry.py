"""The adapter registry: platform id -> adapter class, a literal table.

Importing it loads every adapter (and their HTTP and text machinery); modules that only
need the platform ids or their settings read `octopost.platforms` instead.
"""

from __future__ import annotations

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
    thread after start-up and when an account is connected."""
    for platform in platforms:
        if platform in ADAPTERS:
            ADAPTERS[platform].prepare()
