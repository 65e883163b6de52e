"""Where each platform's API lives, and which settings its adapter takes: the one list of
platform ids.

Each entry names exactly the settings the adapter reads, with their public defaults;
config builds `[platforms.<id>]` from these (no other key is accepted there), and the
adapter is handed the result as `Deps.settings`, which refuses to read a setting its
entry does not name. Plain data, imported without loading any adapter: config and the
command line read it at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypedDict


class Endpoints(TypedDict, total=False):
    """The settings one platform honours (`config.example.toml` says what each means)."""

    base_url: str
    upload_url: str
    auth_url: str
    #: the platform's authorization page (the browser goes there to connect an account)
    authorize_url: str
    #: the user's own app registered with the platform (README: "Connecting accounts")
    client_id: str
    client_secret: str
    api_version: str
    poll_interval: float
    poll_timeout: float


ENDPOINTS: dict[str, Endpoints] = {
    "twitter": {
        "base_url": "https://api.x.com",
        "auth_url": "https://api.x.com",  # POST /2/oauth2/token
        "poll_interval": 3.0,
        "poll_timeout": 600.0,
        "authorize_url": "https://x.com/i/oauth2/authorize",
        "client_id": "",
        "client_secret": "",
    },
    "bluesky": {
        "base_url": "https://bsky.social",  # the PDS of accounts that name none
        "upload_url": "https://video.bsky.app",  # the video service
        "poll_interval": 1.5,
        "poll_timeout": 600.0,
    },
    "mastodon": {
        "base_url": "",  # no default instance: each account names its own
        "poll_interval": 2.0,
        "poll_timeout": 600.0,
    },
    "linkedin": {
        "base_url": "https://api.linkedin.com",
        "auth_url": "https://www.linkedin.com",
        # Newest version confirmed live when this was written; LinkedIn serves each
        # version about a year (then 426 NONEXISTENT_VERSION): bump it in config.
        "api_version": "202609",
        "poll_interval": 3.0,
        "poll_timeout": 900.0,
        "authorize_url": "https://www.linkedin.com/oauth/v2/authorization",
        "client_id": "",
        "client_secret": "",
    },
    "threads": {
        # Graph paths are versioned (/v1.0/...), token endpoints are not.
        "base_url": "https://graph.threads.net",
        "api_version": "v1.0",
        "poll_interval": 5.0,
        "poll_timeout": 600.0,
        "authorize_url": "https://threads.net/oauth/authorize",
        "client_id": "",
        "client_secret": "",
    },
    "instagram": {
        # https://graph.facebook.com selects the Facebook Login variant
        "base_url": "https://graph.instagram.com",
        "auth_url": "https://api.instagram.com",  # POST /oauth/access_token (connecting)
        "api_version": "v25.0",
        "poll_interval": 5.0,
        "poll_timeout": 600.0,
        "authorize_url": "https://www.instagram.com/oauth/authorize",
        "client_id": "",
        "client_secret": "",
    },
    "facebook": {
        "base_url": "https://graph.facebook.com",
        "upload_url": "https://graph-video.facebook.com",
        "api_version": "v25.0",
        "poll_interval": 3.0,
        "poll_timeout": 900.0,
        "authorize_url": "https://www.facebook.com/v25.0/dialog/oauth",
        "client_id": "",
        "client_secret": "",
    },
    "tiktok": {
        "base_url": "https://open.tiktokapis.com",
        "auth_url": "https://open.tiktokapis.com",
        # status/fetch allows 30 requests a minute per token
        "poll_interval": 3.0,
        "poll_timeout": 900.0,
        "authorize_url": "https://www.tiktok.com/v2/auth/authorize/",
        "client_id": "",
        "client_secret": "",
    },
    "youtube": {
        "base_url": "https://www.googleapis.com",
        "upload_url": "https://www.googleapis.com/upload",
        "auth_url": "https://oauth2.googleapis.com",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "client_id": "",
        "client_secret": "",
    },
}

#: the platforms, in the order they are listed everywhere
PLATFORM_IDS: tuple[str, ...] = tuple(ENDPOINTS)


@dataclass(repr=False, eq=False)
class PlatformSettings:
    """One platform's effective settings: config values over the entry's defaults.

    Reading a setting the platform's entry does not name is an error (AttributeError),
    so no adapter can depend on a setting that has no config key.
    """

    platform: str
    base_url: str = ""
    upload_url: str = ""
    auth_url: str = ""
    authorize_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_version: str = ""
    poll_interval: float = 2.0
    poll_timeout: float = 600.0

    def __getattribute__(self, name: str) -> Any:
        if name in _SETTINGS and name not in ENDPOINTS[object.__getattribute__(self, "platform")]:
            platform = object.__getattribute__(self, "platform")
            raise AttributeError(f"{platform} takes no {name} setting (see platforms/endpoints.py)")
        return object.__getattribute__(self, name)

    def __repr__(self) -> str:
        values = ", ".join(
            f"{key}={'***' if key in SECRET_SETTINGS and getattr(self, key) else getattr(self, key)!r}"
            for key in ENDPOINTS[self.platform]
        )
        return f"PlatformSettings({self.platform}: {values})"


#: settings never shown (reprs, logs, the config check's output)
SECRET_SETTINGS = frozenset({"client_secret"})
_SETTINGS = frozenset(f.name for f in fields(PlatformSettings)) - {"platform"}


def settings_for(platform: str, overrides: Mapping[str, Any]) -> PlatformSettings:
    """The platform's defaults with config `[platforms.<id>]` values on top (an empty
    string or 0 keeps the default)."""
    values: dict[str, Any] = dict(ENDPOINTS[platform])
    for key, value in overrides.items():
        if key not in values:
            raise KeyError(f"{platform} takes no {key} setting")
        if value:
            values[key] = value
    # bases lose a trailing slash (paths are appended); an authorization page's URL is
    # used as it is written (TikTok's ends with one)
    for key in ("base_url", "upload_url", "auth_url"):
        if key in values:
            values[key] = str(values[key]).rstrip("/")
    return PlatformSettings(platform=platform, **values)


def configured_urls(settings: PlatformSettings) -> list[str]:
    """The platform's endpoint URLs (the hosts Octopost trusts as configured)."""
    return [
        getattr(settings, key)
        for key in ("base_url", "upload_url", "auth_url")
        if key in ENDPOINTS[settings.platform]
    ]
