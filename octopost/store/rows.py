"""How posts and deliveries are stored: their columns, and rows <-> structs (by position:
a list page builds a hundred posts and their deliveries)."""

from __future__ import annotations

import operator
from typing import Any

import msgspec

from octopost.models import (
    Delivery,
    DeliveryState,
    ListedPost,
    Media,
    Override,
    PlatformResult,
    Post,
    PostStatus,
    Segment,
    ThreadMode,
    final_results,
    in_platform_order,
)
from octopost.store.db import Row, from_ms, from_ms_required, to_ms

_media_decoder = msgspec.json.Decoder(Media)
decode_list = msgspec.json.Decoder(list[str])
_dict_decoder = msgspec.json.Decoder(dict[str, Any])
encode = msgspec.json.encode


class StoredShape(msgspec.Struct, omit_defaults=True):
    """How a post is shaped per platform (the `shape` column; NULL for a plain post)."""

    segments: list[Segment] | None = None
    overrides: dict[str, Override] | None = None
    thread: ThreadMode = ThreadMode.OFF
    thread_marker: bool = False


_shape_decoder = msgspec.json.Decoder(StoredShape)


def _shape(post: Post) -> bytes | None:
    return shape_bytes(StoredShape(post.segments, post.overrides, post.thread, post.thread_marker))


def shape_bytes(shape: StoredShape) -> bytes | None:
    return None if shape == StoredShape() else encode(shape)


POST_COLUMNS = (
    "id, sandbox, content, platforms, status, scheduled_for, media, "
    "created_at, updated_at, published_at, language, shape"
)
JOINED_COLUMNS = ", ".join(
    [f"p.{c.strip()}" for c in POST_COLUMNS.split(",")]
    + [
        f"d.{c}"
        for c in (
            "post_id",
            "platform",
            "state",
            "attempts",
            "remote_id",
            "remote_url",
            "error",
            "error_category",
            "retryable",
            "simulated",
            "checkpoint",
            "updated_at",
            "reached",
            "budget_from",
        )
    ]
)
POST_WIDTH = len(POST_COLUMNS.split(","))
DELIVERY_COLUMNS = (
    "post_id, platform, state, attempts, remote_id, remote_url, error, "
    "error_category, retryable, simulated, checkpoint, updated_at, reached, budget_from"
)


def post_from_row(row: Row, deliveries: list[Delivery] | None = None) -> Post:
    # By position (POST_COLUMNS order): a list page builds a hundred of these.
    (pid, sandbox, content, platforms, status, scheduled_for, media, created, updated, published,
     language, shape_json) = row[:POST_WIDTH]  # fmt: skip
    shape = _shape_decoder.decode(shape_json) if shape_json else _PLAIN
    return Post(
        id=pid,
        content=content,
        platforms=decode_list.decode(platforms),
        status=_POST_STATUS[status],
        scheduled_for=from_ms(scheduled_for),
        media=_media_decoder.decode(media) if media else None,
        created_at=from_ms_required(created),
        updated_at=from_ms_required(updated),
        published_at=from_ms(published),
        sandbox=bool(sandbox),
        deliveries=deliveries or [],
        language=language,
        segments=shape.segments,
        overrides=shape.overrides,
        thread=shape.thread,
        thread_marker=shape.thread_marker,
    )


_PLAIN = StoredShape()
_POST_STATUS = {s.value: s for s in PostStatus}
_DELIVERY_STATE = {s.value: s for s in DeliveryState}
_SUCCEEDED = DeliveryState.SUCCEEDED.value
#: a RESULT_COLUMNS row's platform
_PLATFORM_OF = operator.itemgetter(1)


def delivery_from_row(row: Row) -> Delivery:
    return delivery_at(row, 0)


def post_params(post: Post) -> tuple[Any, ...]:
    return (
        post.id,
        int(post.sandbox),
        post.content,
        encode(post.platforms),
        str(post.status),
        to_ms(post.scheduled_for),
        encode(post.media) if post.media is not None else None,
        to_ms(post.created_at),
        to_ms(post.updated_at),
        to_ms(post.published_at),
        post.language,
        _shape(post),
    )


def iso_sql(column: str) -> str:
    """SQLite's text of `models.iso()` for a millisecond column (NULL stays NULL):
    milliseconds only when the time has them, `Z` for UTC."""
    return (
        f"CASE WHEN {column} % 1000 = 0 "
        f"THEN strftime('%Y-%m-%dT%H:%M:%SZ', {column} / 1000, 'unixepoch') "
        f"ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {column} / 1000.0, 'unixepoch') END"
    )


#: a post as a list page shows it (ListedPost): the timestamps formatted by SQLite
LISTED_COLUMNS = (
    f"id, content, platforms, status, {iso_sql('scheduled_for')}, media, "
    f"{iso_sql('created_at')}, {iso_sql('updated_at')}, {iso_sql('published_at')}, "
    "language, shape"
)
#: what a finished delivery shows (Delivery.result), without its progress record: the
#: first columns of DELIVERY_COLUMNS (delivery_at reads either)
RESULT_COLUMNS = (
    "post_id, platform, state, attempts, remote_id, remote_url, error, error_category, "
    "retryable, simulated"
)


def listed_from_row(
    row: Row, finals: list[Row] | None, deliveries: list[Delivery] | None = None
) -> ListedPost:
    """A LISTED_COLUMNS row, with its finished deliveries as RESULT_COLUMNS rows
    (`finals`) or, for a post with thread segments, as Deliveries."""
    (pid, content, platforms, status, scheduled_for, media, created, updated, published,
     language, shape_json) = row  # fmt: skip
    shape = _shape_decoder.decode(shape_json) if shape_json else _PLAIN
    listed = decode_list.decode(platforms)
    results: dict[str, PlatformResult] | None = None
    if deliveries:
        results = final_results(listed, deliveries)
    elif finals:
        results = {r[1]: result_at(r) for r in in_platform_order(listed, finals, _PLATFORM_OF)}
    return ListedPost(
        id=pid,
        content=content,
        platforms=listed,
        status=status,
        scheduled_for=scheduled_for,
        media=_media_decoder.decode(media) if media else None,
        created_at=created,
        updated_at=updated,
        published_at=published,
        language=language,
        results=results,
        segments=shape.segments,
        overrides=shape.overrides,
        thread=shape.thread,
        thread_marker=shape.thread_marker,
    )


def result_at(row: Row) -> PlatformResult:
    """What a finished delivery without thread segments shows, from its RESULT_COLUMNS:
    `delivery_at(row, 0).result()` without making the Delivery (a list page has a few
    hundred)."""
    (_, _, state, attempts, remote_id, remote_url, error, category, retryable,
     simulated) = row  # fmt: skip
    return PlatformResult(
        success=state == _SUCCEEDED,
        post_id=remote_id,
        post_url=remote_url,
        error=error,
        error_category=category,
        retryable=None if retryable is None else bool(retryable),
        attempts=attempts,
        simulated=bool(simulated),
    )


def delivery_at(row: Row, start: int) -> Delivery:
    """A delivery from the columns of a row, from index `start` on: DELIVERY_COLUMNS, or
    RESULT_COLUMNS (what its `result()` needs, without its progress record)."""
    (post_id, platform, state, attempts, remote_id, remote_url, error, category, retryable,
     simulated, *progress) = row[start:]  # fmt: skip
    delivery = Delivery(
        post_id=post_id,
        platform=platform,
        state=_DELIVERY_STATE[state],
        attempts=attempts,
        remote_id=remote_id,
        remote_url=remote_url,
        error=error,
        error_category=category,
        retryable=None if retryable is None else bool(retryable),
        simulated=bool(simulated),
    )
    if progress:
        checkpoint, updated, reached, budget_from = progress
        if checkpoint != "{}":
            delivery.checkpoint = _dict_decoder.decode(checkpoint)
        delivery.updated_at = from_ms(updated)
        delivery.reached = bool(reached)
        delivery.budget_from = budget_from
    return delivery
