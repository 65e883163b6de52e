"""Request and response structs of the HTTP API (separate from domain structs)."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from octopost.models import (
    AccountRecord,
    Media,
    PlatformResult,
    Post,
    Webhook,
    WebhookDelivery,
    iso,
)


class CreatePostRequest(msgspec.Struct, forbid_unknown_fields=True):
    content: str
    platforms: list[str]
    scheduled_for: str | None = None
    media: Media | None = None


class UpdatePostRequest(msgspec.Struct, forbid_unknown_fields=True):
    content: str | UnsetType = UNSET
    platforms: list[str] | UnsetType = UNSET
    scheduled_for: str | None | UnsetType = UNSET
    media: Media | None | UnsetType = UNSET

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
    platforms: list[str]
    status: str
    scheduled_for: str | None
    media: Media | None
    platform_results: dict[str, PlatformResult] | None
    created_at: str
    updated_at: str
    published_at: str | None

    @classmethod
    def of(cls, post: Post) -> PostResponse:
        return cls(
            id=post.id,
            content=post.content,
            platforms=post.platforms,
            status=post.status.value,
            scheduled_for=iso(post.scheduled_for),
            media=post.media,
            platform_results=post.platform_results(),
            created_at=iso(post.created_at) or "",
            updated_at=iso(post.updated_at) or "",
            published_at=iso(post.published_at),
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
    status: str
    version: str


class ConnectAccountRequest(msgspec.Struct, forbid_unknown_fields=True):
    platform: str
    credentials: dict[str, Any]
    #: non-secret per-account options (e.g. {"privacy": "unlisted"} for YouTube)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class AccountResponse(msgspec.Struct):
    id: str
    platform: str
    username: str
    display_name: str | None
    profile_url: str | None
    status: str
    status_reason: str | None
    settings: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: AccountRecord) -> AccountResponse:
        return cls(
            id=record.id,
            platform=record.platform,
            username=record.username,
            display_name=record.display_name,
            profile_url=record.profile_url,
            status=record.status.value,
            status_reason=record.status_reason,
            settings=record.settings,
            created_at=iso(record.created_at) or "",
            updated_at=iso(record.updated_at) or "",
        )


class AccountList(msgspec.Struct):
    accounts: list[AccountResponse]


class CreateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    events: list[str]
    description: str | None = None


class UpdateWebhookRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: str | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    description: str | None | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            n: getattr(self, n) for n in self.__struct_fields__ if getattr(self, n) is not UNSET
        }


class WebhookResponse(msgspec.Struct, omit_defaults=True):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: str
    updated_at: str
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
    at: str
    response_code: int | None
    error: str | None
    duration_ms: int


class DeliveryResponse(msgspec.Struct):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    response_code: int | None
    error: str | None
    duration_ms: int | None
    next_retry_at: str | None
    created_at: str
    updated_at: str
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
    platforms: list[str] | None = None


class PlatformCheckResponse(msgspec.Struct, omit_defaults=True):
    ok: bool
    length: int
    limit: int
    account: str
    problems: list[str] = msgspec.field(default_factory=list)


class ValidationReport(msgspec.Struct):
    valid: bool
    platforms: dict[str, PlatformCheckResponse]
