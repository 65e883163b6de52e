"""Threads API: what Threads adds to the shared Graph flow (`_graph/`): its options, its
error rules and where its posts live.

Docs: https://developers.facebook.com/docs/threads/posts,
https://developers.facebook.com/docs/threads/troubleshooting.
"""

from __future__ import annotations

from typing import Literal

from octopost.platforms._graph.containers import Flow
from octopost.platforms._graph.errors import graph_error
from octopost.platforms._http import Response
from octopost.platforms.base import Options
from octopost.platforms.errors import MediaError, PlatformError, RejectedError

LABEL = "Threads"
MAX_LINKS = 5
LINK_LIMIT_CODE = "THREADS_API__LINK_LIMIT_EXCEEDED"
#: `grant_type` of GET /access_token (short-lived -> 60-day token, when connecting)
EXCHANGE_GRANT = "th_exchange_token"
#: `grant_type` of GET /refresh_access_token
REFRESH_GRANT = "th_refresh_token"


class ThreadsOptions(Options):
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


def classify(resp: Response, now: float) -> PlatformError | None:
    """Threads' own answers, before the shared Graph table."""
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


def profile_url(username: str) -> str:
    return f"https://www.threads.net/@{username}" if username else "https://www.threads.net/"


FLOW = Flow(
    create_edge="threads",
    publish_edge="threads_publish",
    quota_edge="threads_publishing_limit",
    status_fields="status,error_message",
    status_key="status",
    error_key="error_message",
    text_field="text",
    profile_url=profile_url,
)
