"""Platform adapters: a literal registry, one module per platform id."""

from __future__ import annotations

from octopost.config import PlatformConfig
from octopost.platforms.base import Adapter, PlatformSettings
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

PLATFORM_IDS: tuple[str, ...] = tuple(ADAPTERS)


def settings_for(platform: str, override: PlatformConfig) -> PlatformSettings:
    """The adapter's default endpoints with config `[platforms.<id>]` values on top."""
    base = ADAPTERS[platform].default_settings
    return PlatformSettings(
        base_url=(override.base_url or base.base_url).rstrip("/"),
        upload_url=(override.upload_url or base.upload_url).rstrip("/"),
        auth_url=(override.auth_url or base.auth_url).rstrip("/"),
        api_version=override.api_version or base.api_version,
        poll_interval=override.poll_interval or base.poll_interval,
        poll_timeout=override.poll_timeout or base.poll_timeout,
    )
