"""Simulated results for sandbox posts: plausible ids and URLs, no network."""

from __future__ import annotations

import secrets

_URLS = {
    "twitter": "https://x.com/sandbox/status/{n}",
    "bluesky": "https://bsky.app/profile/sandbox.bsky.social/post/{r}",
    "mastodon": "https://mastodon.social/@sandbox/{n}",
    "linkedin": "https://www.linkedin.com/feed/update/urn:li:share:{n}",
    "threads": "https://www.threads.net/@sandbox/post/{r}",
    "instagram": "https://www.instagram.com/p/{r}/",
    "facebook": "https://www.facebook.com/{n}",
    "tiktok": "https://www.tiktok.com/@sandbox/video/{n}",
    "youtube": "https://www.youtube.com/watch?v={r}",
}
_IDS = {
    "bluesky": "at://did:plc:sandbox/app.bsky.feed.post/{r}",
    "linkedin": "urn:li:share:{n}",
    "facebook": "1000{n}_{n}",
}


def simulate(platform: str) -> tuple[str, str]:
    """(post_id, post_url) shaped like the platform's own."""
    number = str(1_800_000_000_000_000_000 + secrets.randbelow(10**17))
    rkey = secrets.token_hex(6)
    post_id = _IDS.get(platform, "{n}").format(n=number, r=rkey)
    if platform == "youtube":
        post_id = rkey[:11]
    url = _URLS[platform].format(n=number, r=rkey if platform != "youtube" else post_id)
    return post_id, url
