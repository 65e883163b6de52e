"""Request and response structs of the HTTP API (separate from domain structs)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from octopost.accounts import MAX_ACCOUNT_KEYS
from octopost.checks import SegmentCheck
from octopost.language import MAX_LENGTH as LANGUAGE_MAX_LENGTH
from octopost.models import (
    AccountRecord,
    AccountStatus,
    ListedPost,
    Media,
    Override,
    Platform,
    PlatformResult,
    Post,
    PostStatus,
    Segment,
    ThreadMode,
    Timestamp,
    Url,
    Webhook,
    WebhookDelivery,
    iso,
)
from octopost.post_shape import MAX_SEGMENTS, THREAD_MODES
from octopost.posts import MAX_CONTENT
from octopost.shaping import SHAPE_MODES
from octopost.webhooks import EVENT_TYPES, MAX_DESCRIPTION, PING


def _schema(**values: Any) -> msgspec.Meta:
    """Documentation for the API description only (validation lives in the services)."""
    return msgspec.Meta(extra_json_schema=values)


Content = Annotated[str, _schema(minLength=1, maxLength=MAX_CONTENT)]
Platforms = Annotated[list[Platform], _schema(minItems=1)]
Event = Annotated[str, _schema(enum=list(EVENT_TYPES))]
Events = Annotated[list[Event], _schema(minItems=1)]
Description = Annotated[str, _schema(maxLength=MAX_DESCRIPTION)]
ScheduledFor = Annotated[
    str,
    _schema(
        format="date-time",
        description="RFC 3339 with Z or an offset, in the future, e.g. 2030-01-01T09:00:00Z",
    ),
]
PostStatusName = Annotated[str, _schema(enum=[s.value for s in PostStatus])]
Language = Annotated[
    str,
    _schema(
        maxLength=LANGUAGE_MAX_LENGTH,
        examples=["en", "pt-BR", "zh-Hant-TW"],
        description="BCP 47 language tag, returned in canonical case; used by Bluesky, "
        "Mastodon and YouTube",
    ),
]


Segments = Annotated[
    list[Segment],
    _schema(
        minItems=1,
        maxItems=MAX_SEGMENTS,
        description="A thread, one post per item: a reply chain on X, Bluesky, Mastodon and "
        "Threads; joined by blank lines on LinkedIn and Facebook; the first item only on "
        "Instagram, TikTok and YouTube. `content` (and `media`) are the first item's.",
    ),
]
Overrides = Annotated[
    dict[Platform, Override],
    _schema(
        description="Per platform id (one of `platforms`): its own content, media or "
        "segments, replacing the shared ones there"
    ),
]
Thread = Annotated[
    str,
    _schema(
        enum=list(THREAD_MODES),
        description='"auto": split `content` into a thread on each platform that has '
        "threads, by its own counting rule (at `---` lines, then paragraphs, sentences, "
        'words); "off" (default): one post',
    ),
]
ThreadMarker = Annotated[bool, _schema(description='end each post of a thread with "i/n"')]


class CreatePostRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    #: required unless `segments` is given (then it is the first segment's)
    content: Content | UnsetType = UNSET
    platforms: Platforms
    scheduled_for: ScheduledFor | None = None
    media: Media | None = None
    #: BCP 47 tag ("en", "pt-BR"); used by the platforms that take one
    language: Language | None = None
    segments: Segments | None = None
    overrides: Overrides | None = None
    thread: Thread | None = None
    thread_marker: ThreadMarker | None = None

    def text(self) -> str | None:
        return None if isinstance(self.content, UnsetType) else self.content

    def shape(self) -> dict[str, Any]:
        return {
            "segments": self.segments,
            "overrides": self.overrides,
            "thread": self.thread,
            "thread_marker": self.thread_marker,
        }


class UpdatePostRequest(msgspec.Struct, forbid_unknown_fields=True):
    content: Content | UnsetType = UNSET
    platforms: Platforms | UnsetType = UNSET
    scheduled_for: ScheduledFor | None | UnsetType = UNSET
    media: Media | None | UnsetType = UNSET
    language: Language | None | UnsetType = UNSET
    segments: Segments | None | UnsetType = UNSET
    overrides: Overrides | None | UnsetType = UNSET
    thread: Thread | UnsetType = UNSET
    thread_marker: ThreadMarker | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent (null included)."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not UNSET
        }


class PostResponse(msgspec.Struct):
    id: str
    content: str
    platforms: list[Platform]
    status: PostStatusName
    scheduled_for: Timestamp | None
    media: Media | None
    #: keyed by platform id
    platform_results: dict[Platform, PlatformResult] | None
    created_at: Timestamp
    updated_at: Timestamp
    published_at: Timestamp | None
    language: Language | None
    #: only on a post that has them (a plain post's response is as it always was)
    segments: list[Segment] | UnsetType = UNSET
    overrides: dict[Platform, Override] | UnsetType = UNSET
    thread: Thread | UnsetType = UNSET
    thread_marker: bool | UnsetType = UNSET

    @classmethod
    def of(cls, post: Post) -> PostResponse:
        return cls.listed(post.listed())

    @classmethod
    def listed(cls, post: ListedPost) -> PostResponse:
        """A post as a list reads it (`Post.listed()` for any other post)."""
        shaped = post.thread is not ThreadMode.OFF
        return cls(
            id=post.id,
            content=post.content,
            platforms=post.platforms,
            status=post.status,
            scheduled_for=post.scheduled_for,
            media=post.media,
            platform_results=post.results,
            created_at=post.created_at,
            updated_at=post.updated_at,
            published_at=post.published_at,
            language=post.language,
            segments=post.segments if post.segments is not None else UNSET,
            overrides=post.overrides if post.overrides is not None else UNSET,
            thread=post.thread.value if shaped else UNSET,
            thread_marker=post.thread_marker if shaped or post.thread_marker else UNSET,
        )


class PostList(msgspec.Struct):
    posts: list[PostResponse]
    total: int


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    field: str
    message: str
    meta: dict[str, Any] | None = None


class ErrorBody(msgspec.Struct):
    code: str
    message: str
    details: list[ErrorDetail] = msgspec.field(default_factory=list)
    request_id: str | None = None


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


class Health(msgspec.Struct):
    status: Annotated[str, _schema(enum=["ok"])]
    version: str


Credentials = Annotated[
    dict[str, Any],
    _schema(maxProperties=MAX_ACCOUNT_KEYS, description="The platform's credentials (see README)"),
]
AccountSettings = Annotated[dict[str, Any], _schema(maxProperties=MAX_ACCOUNT_KEYS)]


class ConnectAccountRequest(msgspec.Struct, forbid_unknown_fields=True):
    platform: Platform
    credentials: Credentials
    #: non-secret per-account options (e.g. {"privacy": "unlisted"} for YouTube)
    settings: AccountSettings = msgspec.field(default_factory=dict)


class AccountResponse(msgspec.Struct):
    id: str
    platform: Platform
    #: the account's id on the platform
    platform_user_id: str | None
    username: str
    display_name: str | None
    avatar_url: str | None
    profile_url: str | None
    status: Annotated[str, _schema(enum=[s.value for s in AccountStatus])]
    status_reason: str | None
    #: publishing uses it (false: `status` says why, e.g. reauth_required)
    is_active: bool
    settings: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp
    #: when the credentials were last given (connecting again keeps id and created_at)
    connected_at: Timestamp
    #: when a publish last used the account (null: never)
    last_used_at: Timestamp | None

    @classmethod
    def of(cls, record: AccountRecord) -> AccountResponse:
        return cls(
            id=record.id,
            platform=record.platform,
            platform_user_id=record.remote_id,
            username=record.username,
            display_name=record.display_name,
            avatar_url=record.avatar_url,
            profile_url=record.profile_url,
            status=record.status.value,
            status_reason=record.status_reason,
            is_active=record.status is AccountStatus.ACTIVE,
            settings=record.settings,
            created_at=iso(record.created_at) or "",
            updated_at=iso(record.updated_at) or "",
            connected_at=iso(record.connected_at or record.created_at) or "",
            last_used_at=iso(record.last_used_at),
        )


class StartConnectRequest(msgspec.Struct, forbid_unknown_fields=True):
    platform: Platform
    #: where the platform sends the browser back; default: this server's
    #: <server.public_url>/v1/oauth/callback/<platform> (or a loopback http URL, for a
    #: command line listening on this machine)
    redirect_uri: Url | None = None
    #: a page on this server's origin to send the browser to when the flow ends
    return_to: Url | None = None
    #: the server the account is on (Mastodon)
    instance_url: Url | None = None
    #: named sets of extra scopes the platform offers (LinkedIn: "organization", to
    #: post as a company page you administer)
    extra: Annotated[list[Annotated[str, _schema(maxLength=50)]], _schema(maxItems=5)] = (
        msgspec.field(default_factory=list)
    )


class ConnectStarted(msgspec.Struct):
    #: send the user's browser here
    authorize_url: str
    #: single use, bound to this API key and platform
    state: str
    expires_at: Timestamp


class ConnectChoice(msgspec.Struct, omit_defaults=True):
    id: str
    name: str
    username: str | None = None
    avatar_url: str | None = None


class ConnectResult(msgspec.Struct, omit_defaults=True):
    """The callback's answer: `connected` with the account, or `choose` with the
    choices (POST /v1/accounts/connect/{connection}/choose picks one)."""

    status: Annotated[str, _schema(enum=["connected", "choose"])]
    platform: Platform
    account: AccountResponse | None = None
    connection: str | None = None
    choices: list[ConnectChoice] | None = None
    expires_at: Timestamp | None = None


class ChooseRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: the `id` of one of the callback's choices
    choice: Annotated[str, _schema(minLength=1, maxLength=200)]


class AccountList(msgspec.Struct):
    accounts: list[AccountResponse]


class CreateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    events: Events
    description: Description | None = None


class UpdateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            n: getattr(self, n) for n in self.__struct_fields__ if getattr(self, n) is not UNSET
        }


class WebhookResponse(msgspec.Struct, omit_defaults=True):
    id: str
    url: str
    events: list[Event]
    description: str | None
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    #: shown only in the answer to POST /v1/webhooks
    secret: str | None = None

    @classmethod
    def of(cls, hook: Webhook, secret: str | None = None) -> WebhookResponse:
        return cls(
            id=hook.id,
            url=hook.url,
            events=hook.events,
            description=hook.description,
            enabled=hook.enabled,
            created_at=iso(hook.created_at) or "",
            updated_at=iso(hook.updated_at) or "",
            secret=secret,
        )


class WebhookList(msgspec.Struct):
    webhooks: list[WebhookResponse]


class AttemptResponse(msgspec.Struct):
    number: int
    at: Timestamp
    response_code: int | None
    error: str | None
    duration_ms: int


class DeliveryResponse(msgspec.Struct):
    id: str
    event_id: str
    event_type: Annotated[str, _schema(enum=[*EVENT_TYPES, PING])]
    status: Annotated[str, _schema(enum=["pending", "succeeded", "failed"])]
    attempts: int
    response_code: int | None
    error: str | None
    duration_ms: int | None
    next_retry_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    history: list[AttemptResponse]

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryResponse:
        return cls(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.state,
            attempts=d.attempts,
            response_code=d.last_status,
            error=d.last_error,
            duration_ms=d.last_duration_ms,
            next_retry_at=iso(d.next_attempt_at) if d.state == "pending" else None,
            created_at=iso(d.created_at) or "",
            updated_at=iso(d.updated_at) or "",
            history=[
                AttemptResponse(a.number, iso(a.at) or "", a.status, a.error, a.duration_ms)
                for a in d.history
            ],
        )


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryResponse]
    total: int


class RetryRequest(msgspec.Struct, forbid_unknown_fields=True):
    platforms: Platforms | None = None


class PlatformCheckResponse(msgspec.Struct, omit_defaults=True):
    ok: bool
    length: int
    limit: int
    account: str
    problems: list[str] = msgspec.field(default_factory=list)
    #: what the post becomes here: thread, joined or first (see `segments`); absent for
    #: one post, so a plain post's report is as it always was
    mode: Annotated[str, _schema(enum=list(SHAPE_MODES), default="single")] = "single"
    #: a thread's posts as this platform will get them, each with its own count
    segments: list[SegmentCheck] | None = None


class ValidationReport(msgspec.Struct):
    valid: bool
    platforms: dict[Platform, PlatformCheckResponse]
