"""Facebook Page (Graph API) shapes and rules: credentials, response structs, error quirks.

The Graph session, error envelope and code table shared with Instagram and Threads
live in `_graph/`; `classify` adds what only Page publishing answers (photo/video
fetch errors, "posting too fast", photos already posted, the older `X-Page-Usage`
throttle header).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import msgspec

from octopost.platforms._graph.errors import THROTTLE_CODES, describe, graph_error, regain_after
from octopost.platforms._http import Response
from octopost.platforms._text import comparable, parse_timestamp
from octopost.platforms.base import Options, decode_credentials
from octopost.platforms.errors import (
    DuplicateError,
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

T = TypeVar("T")

LABEL = "Facebook"
WEB = "https://www.facebook.com"

#: 324 missing/invalid image file, 389 unable to fetch video file from URL.
MEDIA_CODES = frozenset({324, 389})
#: 1366046 photo too big / wrong format, 2069019 invalid file,
#: 1363022/1363023 video too small/large (video API error codes).
MEDIA_SUBCODES = frozenset({1366046, 2069019, 1363022, 1363023})
#: 6000 retryable video upload problem; 1363030 upload timeout, 1363019 retry,
#: 1363047 / 1609010 service unavailable (observed by Postiz).
TRANSIENT_CODES = frozenset({6000})
TRANSIENT_SUBCODES = frozenset({1363019, 1363030, 1363047, 1609010})
#: code 368 subcode 1390008: "You're posting too fast" (passes with time).
TOO_FAST_SUBCODE = 1390008
#: "These photos were already posted": attached_media reused after a post took them.
PHOTOS_POSTED_SUBCODE = 1366051
#: The link in `link` could not be scraped ("error posting link").
LINK_SUBCODE = 1609005
#: Pages (of LOOKUP_LIMIT items) of the Page's recent posts read to prove absence.
LOOKUP_PAGES = 4
LOOKUP_LIMIT = "50"


class Credentials(msgspec.Struct):
    page_id: str
    page_access_token: str
    #: optional: the Meta app's secret, for apps with "Require App Secret" on
    #: (every call then carries appsecret_proof = HMAC-SHA256(token, secret))
    app_secret: str = ""


class FacebookOptions(Options):
    #: text-only posts send their first URL as `link`, so Facebook shows a preview card
    link_preview: bool = True


class PageNode(msgspec.Struct):
    id: str
    name: str = ""
    username: str = ""
    link: str = ""


class MeNode(msgspec.Struct):
    id: str
    name: str = ""


class Created(msgspec.Struct):
    """POST /feed -> {id}; POST /photos -> {id, post_id}; POST /videos -> {id}."""

    id: str = ""
    post_id: str = ""


class PhaseError(msgspec.Struct):
    code: int | None = None
    message: str = ""


class Phase(msgspec.Struct):
    status: str = ""
    errors: list[PhaseError] = []


class VideoStatus(msgspec.Struct):
    video_status: str = ""
    uploading_phase: Phase | None = None
    processing_phase: Phase | None = None
    publishing_phase: Phase | None = None

    def failure(self) -> str | None:
        """The processing error, if the video failed (None while fine)."""
        phases = (self.uploading_phase, self.processing_phase, self.publishing_phase)
        failed = self.video_status == "error" or any(p and p.status == "error" for p in phases)
        if not failed:
            return None
        for phase in phases:
            for error in phase.errors if phase else []:
                if error.message:
                    return error.message
        return "video processing failed"


class VideoNode(msgspec.Struct):
    id: str = ""
    status: VideoStatus | None = None
    post_id: str = ""
    description: str = ""
    created_time: str = ""


class Item(msgspec.Struct):
    """An entry of GET /{page}/posts (message) or /{page}/videos (description)."""

    id: str
    message: str = ""
    description: str = ""
    created_time: str = ""


class Cursors(msgspec.Struct):
    after: str = ""


class Paging(msgspec.Struct):
    cursors: Cursors | None = None
    next: str = ""


class Listing(msgspec.Struct, Generic[T]):
    data: list[T] = []
    paging: Paging | None = None

    def after(self) -> str | None:
        """The cursor of the next page, None on the last one."""
        if self.paging is None or not self.paging.next or self.paging.cursors is None:
            return None
        return self.paging.cursors.after or None


def credentials(raw: Mapping[str, Any]) -> Credentials:
    creds = decode_credentials(Credentials, raw, LABEL)
    if not creds.page_id.strip() or not creds.page_access_token.strip():
        raise RejectedError(
            "Invalid Facebook credentials: page_id and page_access_token are required"
        )
    return creds


def authorize(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The Page token in a header (keeping it out of URLs and proxies' logs), with
    `appsecret_proof` when the app requires it
    (https://developers.facebook.com/docs/graph-api/securing-requests)."""
    creds = credentials(raw)
    token = creds.page_access_token.strip()
    query: dict[str, str] = {}
    if creds.app_secret:
        query["appsecret_proof"] = hmac.new(
            creds.app_secret.encode(), token.encode(), hashlib.sha256
        ).hexdigest()
    return {"Authorization": f"Bearer {token}"}, query


def page_usage_regain(headers: Mapping[str, str]) -> float | None:
    """Seconds from the older flat `X-Page-Usage` header (minutes), when it names a wait."""
    raw = {k.lower(): v for k, v in headers.items()}.get("x-page-usage")
    if not raw:
        return None
    try:
        usage: Any = msgspec.json.decode(raw.encode())
    except msgspec.DecodeError:
        return None
    value = usage.get("estimated_time_to_regain_access") if isinstance(usage, dict) else None
    if isinstance(value, int | float) and value > 0:
        return float(value) * 60.0
    return None


def classify(resp: Response, now: float) -> PlatformError | None:
    """Page-publishing errors the shared Graph table does not cover (run before it)."""
    err = graph_error(resp)
    if err is None:
        return None
    code, sub, status, text = err.number, err.error_subcode, resp.status, describe(err)
    if code in THROTTLE_CODES or sub == TOO_FAST_SUBCODE:
        wait = regain_after(resp.headers, now) or page_usage_regain(resp.headers)
        return RateLimitedError(
            f"{LABEL} rate limit reached: {text}", retry_after=wait, status=status
        )
    if code in TRANSIENT_CODES or sub in TRANSIENT_SUBCODES:
        return UnavailableError(f"{LABEL} is unavailable: {text}", status=status)
    if sub == PHOTOS_POSTED_SUBCODE:
        return DuplicateError(f"{LABEL} refused a duplicate post: {text}", status=status)
    if code in MEDIA_CODES or sub in MEDIA_SUBCODES:
        return MediaError(f"{LABEL} refused the media: {text}", status=status)
    return None


def is_link_error(resp: Response) -> bool:
    err = graph_error(resp)
    return err is not None and LINK_SUBCODE in (err.error_subcode, err.number)


_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def first_url(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(0).rstrip(".,;:!?)]}'\"") if match else None


async def find_on_page(
    get: Callable[[dict[str, str]], Awaitable[Response]], fields: str, wanted: str, since: float
) -> str | None:
    """Id of the Page's item (GET /{page}/posts or /videos) with text `wanted` since `since`.

    None only when every item since then was read and none matches; raises
    OutcomeUnknownError when that cannot be shown (no text to match by, or more
    items than we page through).
    """
    params = {"fields": fields, "since": str(int(since)), "limit": LOOKUP_LIMIT}
    others = False
    for _ in range(LOOKUP_PAGES):
        listing = (await get(params)).decode(Listing[Item])
        for item in listing.data:
            created = parse_timestamp(item.created_time)
            if created is not None and created < since:
                continue
            if wanted and comparable(item.message or item.description) == wanted:
                return item.id
            others = True
        cursor = listing.after()
        if cursor is None:
            break
        params["after"] = cursor
    else:
        raise OutcomeUnknownError(
            "Facebook did not confirm the post and the Page has too many new posts to check; "
            "check your Facebook Page before re-posting."
        )
    if not wanted and others:
        raise OutcomeUnknownError(
            "Facebook did not confirm the post, which has no text to recognise it by, and the "
            "Page has new posts; check your Facebook Page before re-posting."
        )
    return None


def full_post_id(page_id: str, post_id: str) -> str:
    """Facebook's `{page-id}_{post-id}` form (video `post_id`s may come without the page)."""
    return post_id if "_" in post_id else f"{page_id}_{post_id}"


def post_url(post_id: str) -> str:
    """The documented permalink form: https://www.facebook.com/{page-id}_{post-id}."""
    return f"{WEB}/{post_id}"
