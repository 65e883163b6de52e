"""Simulated results for sandbox posts: plausible ids and URLs, no network.

The URLs are shaped like the platform's own but live under `.invalid`, a top-level
domain reserved never to resolve (RFC 2606, RFC 6761): a click on a simulated
result can never land on a real page, let alone on whoever owns "sandbox".
"""

from __future__ import annotations

import secrets

HOST = "sandbox.invalid"
_URLS = {
    "twitter": "https://x." + HOST + "/sandbox/status/{n}",
    "bluesky": "https://bsky." + HOST + "/profile/sandbox/post/{r}",
    "mastodon": "https://mastodon." + HOST + "/@sandbox/{n}",
    "linkedin": "https://linkedin." + HOST + "/feed/update/urn:li:share:{n}",
    "threads": "https://threads." + HOST + "/@sandbox/post/{r}",
    "instagram": "https://instagram." + HOST + "/p/{r}/",
    "facebook": "https://facebook." + HOST + "/{n}",
    "tiktok": "https://tiktok." + HOST + "/@sandbox/video/{n}",
    "youtube": "https://youtube." + HOST + "/watch?v={r}",
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
