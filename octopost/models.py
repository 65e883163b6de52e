"""Domain structs and enums: posts, media, per-platform results, accounts, API keys."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec

# re-exported: the platform ids and error categories are part of the domain's vocabulary
from octopost.platforms import PLATFORM_IDS as PLATFORM_IDS
from octopost.platforms.errors import Category as Category

T = TypeVar("T")

#: every `error_category` a platform result can carry (what to do next): the one list is
#: `Category` in platforms/errors.py
ERROR_CATEGORIES: tuple[str, ...] = tuple(category.value for category in Category)

#: bounds shared by validation and the API description
MAX_URL = 2048
MAX_ALT_TEXT = 5_000
MAX_IMAGES = 4

# What the OpenAPI description says about a field (the struct is the one source:
# `web/openapi.py` takes its component schemas from msgspec). Enforcement stays
# in the validators, which give messages that name the valid values.
Url = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uri", "maxLength": MAX_URL})]
AltText = Annotated[str, msgspec.Meta(extra_json_schema={"maxLength": MAX_ALT_TEXT})]
Platform = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(PLATFORM_IDS)})]
Timestamp = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
ErrorCategory = Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(ERROR_CATEGORIES)})]


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"


EDITABLE = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED})


class DeliveryState(enum.StrEnum):
    """One platform's progress within one publish."""

    PENDING = "pending"  # not sent yet
    SENDING = "sending"  # a request may be in flight (a crash here means: outcome unknown)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINAL_DELIVERY = frozenset({DeliveryState.SUCCEEDED, DeliveryState.FAILED})


class Image(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    alt_text: AltText | None = None


class Video(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    thumbnail_url: Url | None = None


class Media(msgspec.Struct, forbid_unknown_fields=True):
    images: Annotated[list[Image], msgspec.Meta(extra_json_schema={"maxItems": MAX_IMAGES})] = (
        msgspec.field(default_factory=list)
    )
    video: Video | None = None


class Segment(msgspec.Struct, forbid_unknown_fields=True):
    """One post of a thread: its text and, optionally, its own media."""

    content: str
    media: Media | None = None


class Override(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One platform's own version of a post: each field given replaces the shared one."""

    content: str | None = None
    media: Media | None = None
    segments: list[Segment] | None = None


class ThreadMode(enum.StrEnum):
    OFF = "off"  # one post per platform (or the segments given)
    AUTO = "auto"  # split `content` by each platform's own counting rule


class SegmentState(msgspec.Struct):
    """One segment of a thread on one platform: what to send and how far it got.

    The text and media are frozen when the thread starts, so a resume after a crash
    (or a retry) continues the very chain it began, even if the split would now differ."""

    index: int
    content: str
    media: Media | None
    state: DeliveryState
    attempts: int = 0
    budget_from: int = 0
    reached: bool = False
    remote_id: str | None = None
    remote_url: str | None = None
    #: Bluesky's content hash of the record: a reply's strong ref needs it
    cid: str | None = None
    checkpoint: dict[str, Any] = msgspec.field(default_factory=dict)
    error: str | None = None


class SegmentResult(msgspec.Struct, omit_defaults=True):
    """One segment of a thread as `platform_results.<p>.segments` shows it."""

    #: published, failed, or not_sent (an earlier segment failed or it has not been sent yet)
    status: Annotated[
        str, msgspec.Meta(extra_json_schema={"enum": ["published", "failed", "not_sent"]})
    ]
    post_id: str | None = None
    post_url: str | None = None
    error: str | None = None


class PlatformResult(msgspec.Struct, omit_defaults=True):
    """One platform's outcome, as the API shows it in `platform_results`."""

    success: bool
    post_id: str | None = None
    post_url: str | None = None
    error: str | None = None
    #: auth, rate_limited, validation, media, duplicate, platform, network, unknown
    error_category: ErrorCategory | None = None
    retryable: bool | None = None
    attempts: int = 0
    simulated: bool = False
    #: only for a thread: each segment, in order (post_id/post_url above are the first's)
    segments: list[SegmentResult] | None = None


class Delivery(msgspec.Struct):
    """One platform's share of a post: the store's record of progress."""

    post_id: str
    platform: str
    state: DeliveryState
    attempts: int = 0
    remote_id: str | None = None
    remote_url: str | None = None
    error: str | None = None
    error_category: str | None = None
    retryable: bool | None = None
    simulated: bool = False
    checkpoint: dict[str, Any] = msgspec.field(default_factory=dict)
    updated_at: datetime | None = None
    #: some attempt may have reached the platform: never a plain failure without recover()
    reached: bool = False
    #: `attempts` when the current publish or retry began: each one gets a full budget
    budget_from: int = 0
    #: a thread's segments, in order (empty for a single post)
    segments: list[SegmentState] = msgspec.field(default_factory=list)

    def result(self) -> PlatformResult:
        segments = [_segment_result(s) for s in self.segments] if self.segments else None
        first = self.segments[0] if self.segments else None
        return PlatformResult(
            success=self.state is DeliveryState.SUCCEEDED,
            # a thread that stopped half-way still names its first post
            post_id=self.remote_id or (first.remote_id if first else None),
            post_url=self.remote_url or (first.remote_url if first else None),
            error=self.error,
            error_category=self.error_category,
            retryable=self.retryable,
            attempts=self.attempts,
            simulated=self.simulated,
            segments=segments,
        )


def _segment_result(segment: SegmentState) -> SegmentResult:
    if segment.state is DeliveryState.SUCCEEDED:
        return SegmentResult("published", segment.remote_id, segment.remote_url)
    if segment.state is DeliveryState.FAILED:
        return SegmentResult("failed", error=segment.error)
    return SegmentResult("not_sent")


class Post(msgspec.Struct):
    id: str
    content: str
    platforms: list[str]
    status: PostStatus
    scheduled_for: datetime | None
    media: Media | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    sandbox: bool = False
    deliveries: list[Delivery] = msgspec.field(default_factory=list)
    #: BCP 47 tag in canonical case ("en", "pt-BR"), for platforms that take one
    language: str | None = None
    #: a thread: the posts in order (`content`/`media` are the first one's)
    segments: list[Segment] | None = None
    #: per platform id, what replaces the shared content, media or segments there
    overrides: dict[str, Override] | None = None
    thread: ThreadMode = ThreadMode.OFF
    #: "1/n" at the end of each post of a split thread
    thread_marker: bool = False

    def platform_results(self) -> dict[str, PlatformResult] | None:
        """Finished platforms only; None until the first one is known."""
        return final_results(self.platforms, self.deliveries)

    def listed(self) -> ListedPost:
        """The post as the API shows it (ISO timestamps, the finished platforms' results)."""
        return ListedPost(
            id=self.id,
            content=self.content,
            platforms=self.platforms,
            status=self.status.value,
            scheduled_for=iso(self.scheduled_for),
            media=self.media,
            created_at=iso(self.created_at) or "",
            updated_at=iso(self.updated_at) or "",
            published_at=iso(self.published_at),
            language=self.language,
            results=self.platform_results(),
            segments=self.segments,
            overrides=self.overrides,
            thread=self.thread,
            thread_marker=self.thread_marker,
        )


def final_results(
    platforms: list[str], deliveries: list[Delivery]
) -> dict[str, PlatformResult] | None:
    """The results of the finished deliveries, in the post's platform order; None until
    the first one is known."""
    final = [d for d in deliveries if d.state in FINAL_DELIVERY]
    if not final:
        return None
    return {d.platform: d.result() for d in in_platform_order(platforms, final, _PLATFORM)}


_PLATFORM = operator.attrgetter("platform")


def in_platform_order(
    platforms: list[str], items: list[T], platform_of: Callable[[T], str]
) -> list[T]:
    """`items` (one per platform) in the order the post names its platforms; any of a
    platform the post no longer names after them, as they came."""
    if len(items) < 2:
        return items
    by_platform = {platform_of(item): item for item in items}
    ordered = [by_platform.pop(p) for p in platforms if p in by_platform]
    return [*ordered, *by_platform.values()] if by_platform else ordered


class ListedPost(msgspec.Struct):
    """A post as a list page shows it: its timestamps already ISO 8601 (as `iso()` writes
    them; SQLite formats them in the page's query) and only its finished platforms'
    results. A list page builds a hundred of these, and a `Post` with its datetimes
    and every delivery's progress cost about twice as much for what the page shows."""

    id: str
    content: str
    platforms: list[str]
    status: str
    scheduled_for: str | None
    media: Media | None
    created_at: str
    updated_at: str
    published_at: str | None
    language: str | None
    results: dict[str, PlatformResult] | None
    segments: list[Segment] | None = None
    overrides: dict[str, Override] | None = None
    thread: ThreadMode = ThreadMode.OFF
    thread_marker: bool = False


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"


class AccountRecord(msgspec.Struct):
    """A connected platform account as stored (credentials still encrypted)."""

    id: str
    platform: str
    username: str
    display_name: str | None
    remote_id: str | None
    profile_url: str | None
    status: AccountStatus
    credentials_enc: bytes
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    status_reason: str | None = None
    avatar_url: str | None = None
    #: when the credentials were last given (connecting again keeps `created_at`)
    connected_at: datetime | None = None
    #: when a publish last used the account
    last_used_at: datetime | None = None


class ApiKey(msgspec.Struct):
    id: str
    name: str
    prefix: str
    sandbox: bool
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    #: permissions (`posts:read`, ...); empty = full access (octopost.access decides)
    scopes: list[str] = msgspec.field(default_factory=list)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with `Z`; milliseconds only when the time has them."""
    if value is None:
        return None
    # isoformat, not strftime (~10x faster; a list page carries 400 of these), cut to
    # "YYYY-MM-DDTHH:MM:SS[.mmm]" in place of asking for a timespec (slower still)
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[: 23 if value.microsecond else 19] + "Z"


class Webhook(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    sandbox: bool
    secret_enc: bytes
    created_at: datetime
    updated_at: datetime


class WebhookAttempt(msgspec.Struct):
    number: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


class WebhookDelivery(msgspec.Struct):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    state: str  # pending, succeeded, failed (abandoned)
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_duration_ms: int | None
    created_at: datetime
    updated_at: datetime
    history: list[WebhookAttempt] = msgspec.field(default_factory=list)


class OutboxItem(msgspec.Struct):
    """A claimed delivery with what is needed to send it."""

    delivery_id: str
    webhook_id: str
    url: str
    secret_enc: bytes
    event_id: str
    payload: bytes
    attempts: int
    created_at: datetime


class DashboardSession(msgspec.Struct):
    """A signed-in browser: the API key it acts as and its CSRF token (never the key's secret)."""

    key: ApiKey
    csrf: str
    created_at: datetime
    seen_at: datetime
    expires_at: datetime
