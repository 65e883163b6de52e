"""The Posts resource: validation of input and the draft/scheduled lifecycle."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from octopost import netguard
from octopost.errors import ConflictError, FieldError, NotFoundError, ValidationError
from octopost.keys import random_id
from octopost.language import EXAMPLE as LANGUAGE_EXAMPLE
from octopost.language import normalize_language
from octopost.models import (
    MAX_ALT_TEXT,
    MAX_IMAGES,
    PLATFORM_IDS,
    ListedPost,
    Media,
    Override,
    Post,
    PostStatus,
    Segment,
    utcnow,
)
from octopost.store import PostHook, StalePostError, Store, Tx

MAX_CONTENT = 100_000
#: what a post's shape is made of (segments, overrides, thread options): `post_shape.py`
SHAPE_FIELDS = ("segments", "overrides", "thread", "thread_marker")
#: attempts of an update whose post another update changed in between
UPDATE_TRIES = 5


def _changed_since(checked: tuple[Any, ...]) -> Callable[[Post], bool]:
    return lambda post: _shape_key(post) != checked


def _shape_key(post: Post) -> tuple[Any, ...]:
    """What an update's shape check reads of a post: content, media, platforms, shape."""
    encode = msgspec.json.encode
    return (
        post.content,
        encode(post.media),
        tuple(post.platforms),
        encode(post.segments),
        encode(post.overrides),
        post.thread,
        post.thread_marker,
    )


#: highest list offset accepted (far beyond any real list; SQLite's limit is 2^63 - 1)
MAX_OFFSET = 1_000_000_000

Clock = Callable[[], datetime]
#: told about every change to a post's schedule (the scheduler's timers)
ScheduleHook = Callable[[Post | None, str], Awaitable[None]]
#: runs inside the transaction that makes a post scheduled, on the store's writer
#: thread (webhook outbox): synchronous
ScheduledEvent = PostHook


def _now_ms(clock: Clock) -> datetime:
    now = clock()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# RFC 3339 `date-time` (section 5.6), the one form accepted: a `T` between date and
# time, seconds, at most 6 fractional digits and `Z` or a +hh:mm offset. Python's
# fromisoformat() alone also takes spaces, basic forms (20300101T090000Z) and week
# dates, and silently cuts extra digits.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
TIME_EXAMPLE = "2030-01-01T09:00:00Z"


def parse_time(value: str) -> datetime:
    """An RFC 3339 date-time with `Z` or an offset, in UTC to the millisecond."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        if isinstance(value, str) and re.match(
            r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", value
        ):
            raise ValueError(f"must include a UTC offset or Z, e.g. {TIME_EXAMPLE}")
        raise ValueError(f"must be an RFC 3339 date-time like {TIME_EXAMPLE}")
    fraction = match.group(7) or ""
    if len(fraction) > 7:
        raise ValueError("must have at most 6 fractional digits (microseconds)")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        utc = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            f"is not a valid date-time (or out of range), e.g. {TIME_EXAMPLE}"
        ) from None
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _check_url(url: str, field: str, errors: list[FieldError]) -> None:
    problem = netguard.url_problem(url)
    if problem is not None:
        errors.append(FieldError(field, problem))


def validate_content(content: str, errors: list[FieldError], field: str = "content") -> None:
    if not content.strip():
        errors.append(FieldError(field, "must not be empty"))
    elif len(content) > MAX_CONTENT:
        errors.append(FieldError(field, f"must be at most {MAX_CONTENT} characters"))


def validate_platforms(platforms: list[str], errors: list[FieldError]) -> list[str]:
    """Known ids only, duplicates removed, order kept."""
    if not platforms:
        errors.append(FieldError("platforms", "must name at least one platform"))
        return []
    unique: list[str] = []
    for index, platform in enumerate(platforms):
        if platform not in PLATFORM_IDS:
            errors.append(
                FieldError(
                    f"platforms[{index}]",
                    f"unknown platform '{platform}'; valid: {', '.join(PLATFORM_IDS)}",
                )
            )
        elif platform not in unique:
            unique.append(platform)
    return unique


def validate_media(media: Media, errors: list[FieldError], field: str = "media") -> Media | None:
    """Normalised media, or None when it holds nothing."""
    if media.images and media.video is not None:
        errors.append(FieldError(field, "images and a video cannot be combined in one post"))
    if len(media.images) > MAX_IMAGES:
        errors.append(FieldError(f"{field}.images", f"at most {MAX_IMAGES} images"))
    for index, image in enumerate(media.images):
        _check_url(image.url, f"{field}.images[{index}].url", errors)
        if image.alt_text is not None and len(image.alt_text) > MAX_ALT_TEXT:
            errors.append(
                FieldError(
                    f"{field}.images[{index}].alt_text",
                    f"must be at most {MAX_ALT_TEXT} characters",
                )
            )
    if media.video is not None:
        _check_url(media.video.url, f"{field}.video.url", errors)
        if media.video.thumbnail_url is not None:
            _check_url(media.video.thumbnail_url, f"{field}.video.thumbnail_url", errors)
    if not media.images and media.video is None:
        return None
    return media


def validate_language(value: str, errors: list[FieldError]) -> str | None:
    """The tag in canonical case ("pt-br" -> "pt-BR"), or None after recording the problem."""
    tag = normalize_language(value)
    if tag is None:
        errors.append(
            FieldError("language", f"must be a BCP 47 language tag such as {LANGUAGE_EXAMPLE}")
        )
    return tag


def validate_schedule(value: str, now: datetime, errors: list[FieldError]) -> datetime | None:
    try:
        when = parse_time(value)
    except ValueError as exc:
        errors.append(FieldError("scheduled_for", str(exc)))
        return None
    if when <= now:
        errors.append(FieldError("scheduled_for", "must be in the future"))
        return None
    return when


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationError(f"Invalid post: {summary}", errors)


def draft_post(
    *,
    content: str | None,
    platforms: list[str],
    scheduled_for: str | None,
    media: Media | None,
    sandbox: bool,
    now: datetime,
    language: str | None = None,
    segments: list[Segment] | None = None,
    overrides: dict[str, Override] | None = None,
    thread: str | None = None,
    thread_marker: bool | None = None,
) -> Post:
    """A validated, not yet stored post (raises ValidationError listing every problem)."""
    from octopost.post_shape import validate_shape  # it builds on this module's validators

    errors: list[FieldError] = []
    targets = validate_platforms(platforms, errors)
    when = validate_schedule(scheduled_for, now, errors) if scheduled_for is not None else None
    clean_media = validate_media(media, errors) if media is not None else None
    tag = validate_language(language, errors) if language is not None else None
    shape = validate_shape(
        content=content,
        media=clean_media,
        segments=segments,
        overrides=overrides,
        thread=thread,
        thread_marker=thread_marker,
        platforms=targets,
        errors=errors,
    )
    raise_if(errors)
    return Post(
        id=random_id("post_"),
        content=shape.content,
        platforms=targets,
        status=PostStatus.SCHEDULED if when is not None else PostStatus.DRAFT,
        scheduled_for=when,
        media=shape.media,
        created_at=now,
        updated_at=now,
        sandbox=sandbox,
        language=tag,
        segments=shape.segments,
        overrides=shape.overrides,
        thread=shape.thread,
        thread_marker=shape.thread_marker,
    )


async def _no_hook(post: Post | None, post_id: str) -> None:
    return None


class PostService:
    """Create, read, update and delete posts (publishing lives in the publisher)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utcnow,
        on_schedule: ScheduleHook = _no_hook,
        on_scheduled_event: ScheduledEvent | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_schedule = on_schedule
        self.on_scheduled_event = on_scheduled_event

    def _inserted(self, tx: Tx, post: Post) -> None:
        if post.status is PostStatus.SCHEDULED and self.on_scheduled_event is not None:
            self.on_scheduled_event(tx, post)

    def _updated(self, tx: Tx, before: Post, after: Post) -> None:
        newly = after.status is PostStatus.SCHEDULED and (
            before.status is not PostStatus.SCHEDULED or before.scheduled_for != after.scheduled_for
        )
        if newly and self.on_scheduled_event is not None:
            self.on_scheduled_event(tx, after)

    def draft(
        self,
        *,
        content: str | None,
        platforms: list[str],
        scheduled_for: str | None,
        media: Media | None,
        sandbox: bool,
        language: str | None = None,
        **shape: Any,
    ) -> Post:
        """The new post, checked (ValidationError) and not yet stored (`add` stores it).
        `shape`: segments, overrides, thread, thread_marker (see `draft_post`)."""
        return draft_post(
            content=content,
            platforms=platforms,
            scheduled_for=scheduled_for,
            media=media,
            sandbox=sandbox,
            now=_now_ms(self.clock),
            language=language,
            **shape,
        )

    async def add(self, post: Post) -> Post:
        """Store a post made by `draft` (and schedule it when it has a time)."""
        when = post.scheduled_for
        scheduled = post.status is PostStatus.SCHEDULED
        await self.store.posts.insert(post, on_change=self._inserted if scheduled else None)
        if when is not None:
            await self.on_schedule(post, post.id)
        return post

    async def get(self, post_id: str, *, sandbox: bool) -> Post:
        post = await self.store.posts.get(post_id, sandbox)
        if post is None:
            raise NotFoundError(f"No post with id '{post_id}'")
        return post

    async def page(
        self, *, sandbox: bool, status: str | None, limit: int, offset: int
    ) -> tuple[list[Post], int]:
        _check_page(status, limit, offset)
        result: tuple[list[Post], int] = await self.store.posts.page(
            sandbox=sandbox, status=status, limit=limit, offset=offset
        )
        return result

    async def listing(
        self, *, sandbox: bool, status: str | None, limit: int, offset: int
    ) -> tuple[list[ListedPost], int]:
        """`page()` as the API's list shows it (the same checks, posts and total)."""
        _check_page(status, limit, offset)
        result: tuple[list[ListedPost], int] = await self.store.posts.listing(
            sandbox=sandbox, status=status, limit=limit, offset=offset
        )
        return result

    async def update(self, post_id: str, changes: dict[str, Any], *, sandbox: bool) -> Post:
        """Partial update. `changes` holds only the fields the client sent (None = null)."""
        now = _now_ms(self.clock)
        errors: list[FieldError] = []
        columns: dict[str, Any] = {}
        if "content" in changes:
            if changes["content"] is None:
                errors.append(FieldError("content", "must not be null"))
            else:
                validate_content(changes["content"], errors)
                columns["content"] = changes["content"]
        if "platforms" in changes:
            if changes["platforms"] is None:
                errors.append(FieldError("platforms", "must not be null"))
            else:
                columns["platforms"] = validate_platforms(changes["platforms"], errors)
        if "media" in changes:
            media = changes["media"]
            columns["media"] = validate_media(media, errors) if media is not None else None
        if "language" in changes:  # null removes it
            language = changes["language"]
            columns["language"] = validate_language(language, errors) if language else None
        schedule_given = "scheduled_for" in changes
        when: datetime | None = None
        if schedule_given and changes["scheduled_for"] is not None:
            when = validate_schedule(changes["scheduled_for"], now, errors)
        raise_if(errors)
        if schedule_given:
            columns["scheduled_for"] = when
            columns["status"] = PostStatus.SCHEDULED if when is not None else PostStatus.DRAFT
        for _ in range(UPDATE_TRIES):
            # Content, media, platforms and the shape are checked together against the
            # post as it is; the write then applies only if the post is still that post
            # (another update in between: check again against the new one, no lost update).
            shaped = dict(columns)
            checked = await self._reshape(post_id, sandbox, changes, shaped, errors)
            raise_if(errors)
            try:
                before, after = await self.store.posts.update(
                    post_id,
                    sandbox,
                    shaped,
                    now,
                    on_change=self._updated,
                    unless=None if checked is None else _changed_since(checked),
                )
            except StalePostError:
                continue
            break
        else:
            raise ConflictError(
                f"Post '{post_id}' kept changing while this update was checked; try again"
            )
        if before is None:
            raise NotFoundError(f"No post with id '{post_id}'")
        if after is None:
            raise ConflictError(
                f"Post '{post_id}' is {before.status.value}; only draft and scheduled posts can be updated"
            )
        if schedule_given or before.status is PostStatus.SCHEDULED:
            await self.on_schedule(after, post_id)
        return after

    async def _reshape(
        self,
        post_id: str,
        sandbox: bool,
        changes: dict[str, Any],
        columns: dict[str, Any],
        errors: list[FieldError],
    ) -> tuple[Any, ...] | None:
        """Content, media, platforms and the shape checked together when the post has (or
        gets) segments, overrides or thread options: with segments, `content` and `media`
        are the first segment's, and overrides only name the post's platforms.

        Returns what of the post the check relied on (`_shape_key`), None if nothing."""
        from octopost.post_shape import validate_shape

        touched = {"content", "media", "platforms", *SHAPE_FIELDS} & set(changes)
        if not touched:
            return None
        current = await self.store.posts.get(post_id, sandbox)
        if current is None:
            return None  # the store's update answers "not found"
        checked = _shape_key(current)
        shaped = bool(current.segments or current.overrides or current.thread != "off")
        if not shaped and not set(SHAPE_FIELDS) & set(changes):
            return checked  # a plain post must still be plain when the change lands
        new_segments = "segments" in changes
        segments = changes["segments"] if new_segments else current.segments
        # with segments, content and media come from the first one unless sent again
        derived = new_segments or bool(current.segments)
        content = changes.get("content", None if derived else current.content)
        media = columns.get("media", None if derived else current.media)
        thread = changes.get("thread", current.thread.value)
        shape = validate_shape(
            content=content,
            media=media,
            segments=segments,
            overrides=changes.get("overrides", current.overrides),
            thread=thread,
            thread_marker=changes.get("thread_marker", current.thread_marker),
            platforms=columns.get("platforms", current.platforms),
            errors=errors,
        )
        columns["content"], columns["media"] = shape.content, shape.media
        columns["shape"] = shape
        return checked

    async def delete(self, post_id: str, *, sandbox: bool) -> None:
        post = await self.store.posts.delete(post_id, sandbox)
        if post is None:
            raise NotFoundError(f"No post with id '{post_id}'")
        if post.status is PostStatus.PUBLISHING:
            raise ConflictError(
                f"Post '{post_id}' is being published; try again when it has finished"
            )
        if post.status is PostStatus.SCHEDULED:
            await self.on_schedule(None, post_id)


def _check_page(status: str | None, limit: int, offset: int) -> None:
    errors: list[FieldError] = []
    if status is not None and status not in {s.value for s in PostStatus}:
        errors.append(
            FieldError("status", f"must be one of: {', '.join(s.value for s in PostStatus)}")
        )
    if not 1 <= limit <= 100:
        errors.append(FieldError("limit", "must be between 1 and 100"))
    if not 0 <= offset <= MAX_OFFSET:
        errors.append(FieldError("offset", f"must be between 0 and {MAX_OFFSET}"))
    raise_if(errors)
