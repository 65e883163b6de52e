"""Thin APScheduler wrapper: timers trigger, the store decides.

One exact timer per scheduled post (a DateTrigger keyed by post id) plus a
periodic sweep as a safety net. Whoever fires, the move `scheduled ->
publishing` is one atomic claim in SQLite, so two timers, a sweep and a restart
can never publish the same post twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from octopost.config import SchedulerConfig
from octopost.models import Post, PostStatus, utcnow
from octopost.publisher import Publisher
from octopost.store import Store

log = logging.getLogger("octopost.scheduler")

#: a timer may claim a post this early (clock granularity); never more
EARLY_TOLERANCE = timedelta(milliseconds=250)
SWEEP_JOB = "octopost-sweep"


def missed_message(when: datetime, grace: float) -> str:
    return (
        f"The post missed its scheduled time ({when.strftime('%Y-%m-%dT%H:%M:%SZ')}) while Octopost "
        f"was not running, by more than the {int(grace)} s grace period. Publish it again if it is still wanted."
    )


class Scheduler:
    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        config: SchedulerConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.config = config
        self.clock = clock
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        #: lateness (seconds) of every claim this scheduler made, for the benchmark
        self.lateness: list[float] = []

    async def start(self) -> None:
        """Arm a timer per scheduled post; publish or fail the ones missed while down."""
        self._aps.start()
        now = self.clock()
        for post_id, when in await self.store.posts.scheduled():
            if when <= now:
                await self._due_safely(post_id, when, now)
            else:
                self._arm(post_id, when)
        self._aps.add_job(
            self.sweep,
            IntervalTrigger(seconds=self.config.sweep_interval),
            id=SWEEP_JOB,
            replace_existing=True,
        )

    def every(self, seconds: float, job: Callable[[], Any], job_id: str) -> None:
        """Run `job` every `seconds` (housekeeping)."""
        self._aps.add_job(job, IntervalTrigger(seconds=seconds), id=job_id, replace_existing=True)

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def sync(self, post: Post | None, post_id: str) -> None:
        """Reflect a created, updated or deleted post: arm, move or drop its timer."""
        if post is None or post.status is not PostStatus.SCHEDULED or post.scheduled_for is None:
            self._disarm(post_id)
        else:
            self._arm(post_id, post.scheduled_for)

    def next_run(self, post_id: str) -> datetime | None:
        """When the timer of `post_id` fires (None: no timer)."""
        job = self._aps.get_job(post_id)
        return job.next_run_time if job is not None else None

    def _arm(self, post_id: str, when: datetime) -> None:
        self._aps.add_job(
            self.fire,
            DateTrigger(run_date=when),
            args=[post_id],
            id=post_id,
            replace_existing=True,
        )

    def _disarm(self, post_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._aps.remove_job(post_id)

    async def fire(self, post_id: str) -> bool:
        """Claim the post if it is (still) scheduled and due; True if this call won."""
        now = self.clock()
        claimed = await self.store.posts.claim(
            post_id, now=now, from_states=(PostStatus.SCHEDULED,), due_by=now + EARLY_TOLERANCE
        )
        if claimed is None:
            return False
        if claimed.scheduled_for is not None:
            late = (now - claimed.scheduled_for).total_seconds()
            self.lateness.append(late)
            log.info("claimed scheduled post %s (%.3f s late)", post_id, late)
        self.publisher.start(post_id)
        return True

    async def sweep(self) -> int:
        """Safety net: claim every due post the timers did not (a timer whose claim
        failed is gone), and resume every `publishing` post with no task in this
        process (one whose writes failed). Returns how many posts were claimed."""
        now = self.clock()
        won = 0
        for post_id in await self.store.posts.due(now):
            post = await self.store.posts.get(post_id)
            if post is None or post.scheduled_for is None:
                continue
            won += await self._due_safely(post_id, post.scheduled_for, now)
        await self.publisher.resume()
        return won

    async def _due_safely(self, post_id: str, when: datetime, now: datetime) -> int:
        # A failing claim (disk full) must not stop start-up or the other posts: the
        # post stays `scheduled`, so the next sweep tries again.
        try:
            return await self._due(post_id, when, now)
        except Exception:
            log.exception("could not claim scheduled post %s; the sweep tries again", post_id)
            return 0

    async def _due(self, post_id: str, when: datetime, now: datetime) -> int:
        if (now - when).total_seconds() <= self.config.missed_grace:
            return int(await self.fire(post_id))
        failed = await self.store.posts.fail_missed(
            post_id,
            missed_message(when, self.config.missed_grace),
            now,
            on_finish=self.publisher.on_finish,
        )
        if failed is not None:
            log.warning(
                "scheduled post %s missed its time (%s); marked failed", post_id, when.isoformat()
            )
        return 0
