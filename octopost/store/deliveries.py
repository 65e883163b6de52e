"""One delivery's progress while it is published: each step one urgent write.

A delivery (one platform's share of a post) is created by the claim and settled by
`PostStore.finish`; in between the publisher marks it `sending` before a request leaves
(committed first: the crash-safety rule), records what the adapter checkpoints, and its
outcome. A thread's segments keep theirs in `SegmentStore`, the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from octopost.platforms.errors import Category
from octopost.store.db import Database, to_ms

_encode = msgspec.json.encode


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def mark_sending(self, post_id: str, platform: str, now: datetime) -> int:
        """Record that a request is about to leave; returns the attempt number."""
        rows = await self.db.write(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ? "
            "WHERE post_id = ? AND platform = ? RETURNING attempts",
            [to_ms(now), post_id, platform],
            urgent=True,
        )
        return int(rows[0][0]) if rows else 0

    async def mark_pending(
        self, post_id: str, platform: str, now: datetime, *, reached: bool = False
    ) -> None:
        """The last attempt is over (nothing in flight); waiting to retry. `reached`: it
        may have reached the platform (remembered for good by this delivery)."""
        await self.db.write(
            "UPDATE deliveries SET state = 'pending', reached = MAX(reached, ?), updated_at = ? "
            "WHERE post_id = ? AND platform = ? AND state = 'sending'",
            [int(reached), to_ms(now), post_id, platform],
            urgent=True,
        )

    async def mark_reached(self, post_id: str, platform: str, now: datetime) -> None:
        """Some attempt may have reached the platform (before its outcome is acted on)."""
        await self.db.write(
            "UPDATE deliveries SET reached = 1, updated_at = ? WHERE post_id = ? AND platform = ?",
            [to_ms(now), post_id, platform],
            urgent=True,
        )

    async def save_checkpoint(
        self, post_id: str, platform: str, state: dict[str, Any], now: datetime
    ) -> None:
        await self.db.write(
            "UPDATE deliveries SET checkpoint = ?, updated_at = ? WHERE post_id = ? AND platform = ?",
            [_encode(state), to_ms(now), post_id, platform],
            urgent=True,
        )

    async def record_success(
        self,
        post_id: str,
        platform: str,
        *,
        remote_id: str,
        remote_url: str,
        simulated: bool,
        now: datetime,
    ) -> None:
        await self.db.write(
            "UPDATE deliveries SET state = 'succeeded', remote_id = ?, remote_url = ?, "
            "error = NULL, error_category = NULL, retryable = NULL, simulated = ?, updated_at = ? "
            "WHERE post_id = ? AND platform = ?",
            [remote_id, remote_url, int(simulated), to_ms(now), post_id, platform],
            urgent=True,
        )

    async def record_failure(
        self,
        post_id: str,
        platform: str,
        *,
        error: str,
        category: Category,
        retryable: bool,
        now: datetime,
    ) -> None:
        await self.db.write(
            "UPDATE deliveries SET state = 'failed', error = ?, error_category = ?, "
            "retryable = ?, updated_at = ? WHERE post_id = ? AND platform = ?",
            [error, Category(category).value, int(retryable), to_ms(now), post_id, platform],
            urgent=True,
        )
