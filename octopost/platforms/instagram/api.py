"""Instagram API: what Instagram adds to the shared Graph flow (`_graph/`): its options,
its error rules and where its posts live.

Docs: https://developers.facebook.com/docs/instagram-platform/content-publishing,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media.
"""

from __future__ import annotations

from octopost.platforms._graph.containers import Flow
from octopost.platforms._graph.errors import describe, graph_error
from octopost.platforms._http import Response
from octopost.platforms.base import Options
from octopost.platforms.errors import PlatformError, RateLimitedError

LABEL = "Instagram"
#: code 9 / 2207042: the account's daily publishing limit is reached.
QUOTA_SUBCODE = 2207042
#: `grant_type` of GET /access_token (short-lived -> 60-day token, when connecting)
EXCHANGE_GRANT = "ig_exchange_token"
#: `grant_type` of GET /refresh_access_token (Instagram Login tokens only)
REFRESH_GRANT = "ig_refresh_token"


class InstagramOptions(Options):
    """`account.settings` for Instagram."""

    #: Reels only: also show the Reel in the profile feed (omitted: Instagram's default)
    share_to_feed: bool | None = None


def classify(resp: Response, now: float) -> PlatformError | None:
    """Instagram's own answers, before the shared Graph table."""
    err = graph_error(resp)
    if err is not None and err.error_subcode == QUOTA_SUBCODE:
        return RateLimitedError(
            f"Instagram publishing limit reached: {describe(err)}", status=resp.status
        )
    return None


def profile_url(username: str) -> str:
    return f"https://www.instagram.com/{username}/" if username else "https://www.instagram.com/"


FLOW = Flow(
    create_edge="media",
    publish_edge="media_publish",
    quota_edge="content_publishing_limit",
    status_fields="status_code,status",
    status_key="status_code",
    error_key="status",
    text_field="caption",
    profile_url=profile_url,
)
