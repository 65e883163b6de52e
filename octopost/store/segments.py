"""The segments of a thread on one platform (migration 9): every SQL string for them.

One row per segment: the text and media the thread started with (frozen, so a resume
continues the chain it began) and the segment's own progress, kept like a delivery's
(state, attempts, budget, `reached`, checkpoint). A segment's remote id (and Bluesky
cid) is written before the next segment is sent; the delivery's outcome is written in
the same transaction as the segment that decides it (the last success, or a failure).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from octopost.models import Category, Delivery, DeliveryState, Media, SegmentState
from octopost.store.db import Database, Row, Tx, to_ms

_media_decoder = msgspec.json.Decoder(Media)
_dict_decoder = msgspec.json.Decoder(dict[str, Any])
_encode = msgspec.json.encode
_STATE = {s.value: s for s in DeliveryState}

SEGMENT_COLUMNS = (
    "post_id, platform, idx, content, media, state, attempts, budget_from, reached, "
    "remote_id, remote_url, cid, checkpoint, error"
)
#: the segments of the posts in `({})` (placeholders filled in by the caller)
SEGMENTS_OF = (
    f"SELECT {SEGMENT_COLUMNS} FROM delivery_segments WHERE post_id IN ({{}}) "
    "ORDER BY post_id, platform, idx"
)
#: run by a claim for each target: a retried thread continues at its failed segment,
#: with a fresh attempt budget (the segments that landed stay as they are)
PREPARE_SEGMENTS = (
    "UPDATE delivery_segments SET state = 'pending', error = NULL, budget_from = attempts, "
    "updated_at = ? WHERE post_id = ? AND platform = ? AND state = 'failed'"
)
_WHERE = "WHERE post_id = ? AND platform = ? AND idx = ?"


def segment_of(row: Row) -> SegmentState:
    (_, _, idx, content, media, state, attempts, budget_from, reached, remote_id, remote_url,
     cid, checkpoint, error) = tuple(row)  # fmt: skip
    return SegmentState(
        index=idx,
        content=content,
        media=_media_decoder.decode(media) if media else None,
        state=_STATE[state],
        attempts=attempts,
        budget_from=budget_from,
        reached=bool(reached),
        remote_id=remote_id,
        remote_url=remote_url,
        cid=cid,
        checkpoint={} if checkpoint == "{}" else _dict_decoder.decode(checkpoint),
        error=error,
    )


def attach_segments(rows: list[Row], deliveries: Iterable[Delivery]) -> None:
    """Give each delivery its thread's segments (rows ordered by idx)."""
    by_key: dict[tuple[str, str], list[SegmentState]] = {}
    for row in rows:
        by_key.setdefault((row[0], row[1]), []).append(segment_of(row))
    for delivery in deliveries:
        delivery.segments = by_key.get((delivery.post_id, delivery.platform), [])


class SegmentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(
        self,
        post_id: str,
        platform: str,
        planned: Sequence[tuple[str, Media | None]],
        now: datetime,
    ) -> list[SegmentState]:
        """The thread's segments on `platform`: those stored by an earlier start (a resume
        or a retry continues that chain), else `planned` (text, media), stored now."""

        def work(tx: Tx) -> list[SegmentState]:
            rows = tx.all(
                f"SELECT {SEGMENT_COLUMNS} FROM delivery_segments "
                "WHERE post_id = ? AND platform = ? ORDER BY idx",
                [post_id, platform],
            )
            if rows:
                return [segment_of(r) for r in rows]
            tx.executemany(
                "INSERT INTO delivery_segments (post_id, platform, idx, content, media, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (post_id, platform, i, text, _encode(media) if media else None, to_ms(now))
                    for i, (text, media) in enumerate(planned)
                ],
            )
            return [
                SegmentState(index=i, content=text, media=media, state=DeliveryState.PENDING)
                for i, (text, media) in enumerate(planned)
            ]

        return await self.db.run(work, urgent=True)

    # -- one segment's progress, as DeliveryStore keeps a delivery's ---------------------
    async def mark_sending(self, post_id: str, platform: str, index: int, now: datetime) -> int:
        """A request for the segment is about to leave; returns its attempt number (each
        segment has its own budget; the delivery counts every request of its thread)."""

        def work(tx: Tx) -> int:
            tx.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE post_id = ? AND platform = ?",
                [to_ms(now), post_id, platform],
            )
            row = tx.one(
                "UPDATE delivery_segments SET state = 'sending', attempts = attempts + 1, "
                f"updated_at = ? {_WHERE} RETURNING attempts",
                [to_ms(now), post_id, platform, index],
            )
            return int(row[0]) if row is not None else 0

        return await self.db.run(work, urgent=True)

    async def mark_pending(
        self, post_id: str, platform: str, index: int, now: datetime, *, reached: bool = False
    ) -> None:
        await self.db.write(
            "UPDATE delivery_segments SET state = 'pending', reached = MAX(reached, ?), "
            f"updated_at = ? {_WHERE} AND state = 'sending'",
            [int(reached), to_ms(now), post_id, platform, index],
            urgent=True,
        )

    async def mark_reached(self, post_id: str, platform: str, index: int, now: datetime) -> None:
        await self.db.write(
            f"UPDATE delivery_segments SET reached = 1, updated_at = ? {_WHERE}",
            [to_ms(now), post_id, platform, index],
            urgent=True,
        )

    async def save_checkpoint(
        self, post_id: str, platform: str, index: int, state: dict[str, Any], now: datetime
    ) -> None:
        await self.db.write(
            f"UPDATE delivery_segments SET checkpoint = ?, updated_at = ? {_WHERE}",
            [_encode(state), to_ms(now), post_id, platform, index],
            urgent=True,
        )

    # -- outcomes ---------------------------------------------------------------------
    async def record(
        self,
        post_id: str,
        platform: str,
        index: int,
        *,
        remote_id: str,
        remote_url: str,
        cid: str | None,
        simulated: bool,
        now: datetime,
    ) -> bool:
        """A segment landed: stored before the next one is sent. When it was the last,
        the delivery succeeds in the same transaction with the first segment's post.
        Returns whether the thread is complete."""

        def work(tx: Tx) -> bool:
            tx.execute(
                "UPDATE delivery_segments SET state = 'succeeded', remote_id = ?, "
                f"remote_url = ?, cid = ?, error = NULL, updated_at = ? {_WHERE}",
                [remote_id, remote_url, cid, to_ms(now), post_id, platform, index],
            )
            return _complete(tx, post_id, platform, simulated, now)

        return await self.db.run(work, urgent=True)

    async def complete(
        self, post_id: str, platform: str, *, simulated: bool, now: datetime
    ) -> bool:
        """Settle a thread whose segments all landed already (nothing left to send)."""
        return await self.db.run(
            lambda tx: _complete(tx, post_id, platform, simulated, now), urgent=True
        )

    async def fail(
        self,
        post_id: str,
        platform: str,
        index: int,
        *,
        error: str,
        category: Category,
        retryable: bool,
        now: datetime,
    ) -> None:
        """A segment failed: it and the delivery are failed together (a retry resets both
        and continues from this segment)."""

        def work(tx: Tx) -> None:
            tx.execute(
                f"UPDATE delivery_segments SET state = 'failed', error = ?, updated_at = ? {_WHERE}",
                [error, to_ms(now), post_id, platform, index],
            )
            tx.execute(
                "UPDATE deliveries SET state = 'failed', error = ?, error_category = ?, "
                "retryable = ?, updated_at = ? WHERE post_id = ? AND platform = ?",
                [error, Category(category).value, int(retryable), to_ms(now), post_id, platform],
            )

        await self.db.run(work, urgent=True)


def _complete(tx: Tx, post_id: str, platform: str, simulated: bool, now: datetime) -> bool:
    """The delivery succeeds, with the first segment's post, once every segment landed."""
    left = tx.one(
        "SELECT COUNT(*) FROM delivery_segments WHERE post_id = ? AND platform = ? "
        "AND state != 'succeeded'",
        [post_id, platform],
    )
    first = tx.one(
        "SELECT remote_id, remote_url FROM delivery_segments "
        "WHERE post_id = ? AND platform = ? AND idx = 0",
        [post_id, platform],
    )
    if left is None or left[0] or first is None:
        return False
    tx.execute(
        "UPDATE deliveries SET state = 'succeeded', remote_id = ?, remote_url = ?, "
        "error = NULL, error_category = NULL, retryable = NULL, simulated = ?, "
        "updated_at = ? WHERE post_id = ? AND platform = ?",
        [first[0], first[1], int(simulated), to_ms(now), post_id, platform],
    )
    return True
