"""Thin APScheduler wrapper: a timer triggers, the store decides.

One timer, at the earliest `scheduled_for` of any scheduled post (the store knows
it: one indexed read), plus a periodic sweep as a safety net. When it fires, every
post that is due is claimed in a few batched transactions (`scheduled ->
publishing`, atomic in SQLite), then handed to the publisher, and the timer moves on
to the next earliest post. Whoever claims (this timer, a sweep, a restart), a post
is claimed once, so it can never be published twice. Memory and start-up time do
not grow with the number of scheduled posts: nothing per post is kept here.

APScheduler (~50 ms of imports) loads in a worker thread once `start` has claimed what
came due while down, so it is not in the way of the first answer: the timers asked for
until then (`every`, the due timer) are kept and armed when it is ready (`ready`); a
timer already due then fires at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from octopost.config import SchedulerConfig
from octopost.models import Post, PostStatus, utcnow
from octopost.publisher import Publisher
from octopost.store import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("octopost.scheduler")

#: a timer may claim a post this early (clock granularity); never more
EARLY_TOLERANCE = timedelta(milliseconds=250)
SWEEP_JOB = "octopost-sweep"
DUE_JOB = "octopost-due"
#: posts claimed per transaction: a burst of 10,000 due posts is 10 short writes
CLAIM_BATCH = 1000


def missed_message(when: datetime, grace: float) -> str:
    return (
        f"The post missed its scheduled time ({when.strftime('%Y-%m-%dT%H:%M:%SZ')}) while Octopost "
        f"was not running, by more than the {int(grace)} s grace period. Publish it again if it is still wanted."
    )


def _failed_to_load(ready: asyncio.Future[None]) -> None:
    if not ready.cancelled() and (exc := ready.exception()) is not None:
        log.error(
            "the scheduler's timers could not start (%s: %s): scheduled posts are not "
            "published until Octopost is restarted with a working APScheduler",
            type(exc).__name__,
            exc,
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
        #: APScheduler, once loaded (`ready`); until then the timers asked for wait in
        #: `_periodic` and `_wake_at`
        self._aps: AsyncIOScheduler | None = None
        self._periodic: list[
            tuple[Callable[[], Coroutine[Any, Any, Any]], float, str, datetime | None]
        ] = []
        self.ready: asyncio.Future[None] | None = None
        #: lateness (seconds) of every claim this scheduler made, for tests and the benchmark
        self.lateness: list[float] = []
        self._wake_at: datetime | None = None
        self._draining: asyncio.Task[int] | None = None
        self._again = False

    async def start(self) -> None:
        """Publish (or fail, past the grace) what came due while down; arm the timers
        (once APScheduler is loaded, `ready`)."""
        await self.drain()
        self.ready = asyncio.ensure_future(self._load())
        self.ready.add_done_callback(_failed_to_load)

    async def _load(self) -> None:
        module = await asyncio.to_thread(importlib.import_module, "apscheduler.schedulers.asyncio")
        aps: AsyncIOScheduler = module.AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        aps.start()
        self._aps = aps
        self._add_interval(self.sweep, self.config.sweep_interval, SWEEP_JOB, None)
        for job, seconds, job_id, first in self._periodic:
            self._add_interval(job, seconds, job_id, first)
        self._periodic.clear()
        if self._wake_at is not None:
            self._add_due(self._wake_at)

    def _add_interval(
        self,
        job: Callable[[], Coroutine[Any, Any, Any]],
        seconds: float,
        job_id: str,
        first: datetime | None,
    ) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        assert self._aps is not None
        self._aps.add_job(
            job,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            replace_existing=True,
            **({"next_run_time": first} if first is not None else {}),
        )

    def _add_due(self, when: datetime) -> None:
        from apscheduler.triggers.date import DateTrigger

        assert self._aps is not None
        self._aps.add_job(self._wake, DateTrigger(run_date=when), id=DUE_JOB, replace_existing=True)

    def every(
        self,
        seconds: float,
        job: Callable[[], Coroutine[Any, Any, Any]],
        job_id: str,
        *,
        first_after: float | None = None,
    ) -> None:
        """Run `job` every `seconds` (housekeeping); the first time after `first_after`
        seconds when given (else after `seconds`). Each run in a context of its own (not
        that of the request that last moved the scheduler's timer: its request id)."""

        async def run() -> None:
            await asyncio.create_task(job(), context=contextvars.Context())

        first = (
            datetime.now(UTC) + timedelta(seconds=first_after) if first_after is not None else None
        )
        if self._aps is None:
            self._periodic.append((run, seconds, job_id, first))
        else:
            self._add_interval(run, seconds, job_id, first)

    def shutdown(self) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.cancel()
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)

    async def sync(self, post: Post | None, post_id: str) -> None:
        """A post was created, rescheduled, unscheduled or deleted: keep the timer at the
        earliest scheduled post."""
        self._arm(await self.store.posts.next_due())

    def next_wake(self) -> datetime | None:
        """When the timer fires next (None: no post is scheduled, or a claim failed and
        the sweep takes over)."""
        return self._wake_at

    def _arm(self, when: datetime | None) -> None:
        if when == self._wake_at:
            return
        self._wake_at = when
        if self._aps is None:  # armed once APScheduler is loaded
            return
        if when is None:
            from apscheduler.jobstores.base import JobLookupError

            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(DUE_JOB)
            return
        self._add_due(when)

    async def _wake(self) -> None:
        # The timer job only starts the drain: a drain still running when the timer is
        # due again runs once more instead of being skipped as a second instance.
        self._wake_at = None
        if self._draining is not None and not self._draining.done():
            self._again = True
            return
        # A context of its own: the timer was armed by whichever request scheduled the
        # earliest post, and the publishes would otherwise log that request's id.
        self._draining = asyncio.create_task(
            self.drain(), name="octopost due posts", context=contextvars.Context()
        )

    async def drain(self) -> int:
        """Claim every post that is due and hand it to the publisher; fail the ones missed
        by more than the grace period; move the timer on. Returns how many were claimed.

        A failing claim (disk full) is logged: the posts stay `scheduled`, the timer is
        left off, and the next sweep tries again."""
        claimed: list[str] = []
        try:
            while True:
                self._again = False
                now = self.clock()
                await self._fail_missed(now)
                batch = await self.store.posts.claim_due(
                    now=now,
                    due_by=now + EARLY_TOLERANCE,
                    since=now - timedelta(seconds=self.config.missed_grace),
                    limit=CLAIM_BATCH,
                )
                if batch:
                    late = [(now - when).total_seconds() for _, when in batch]
                    self.lateness.extend(late)
                    log.info(
                        "claimed %d scheduled posts (%.3f to %.3f s late)",
                        len(batch),
                        min(late),
                        max(late),
                    )
                    claimed.extend(post_id for post_id, _ in batch)
                if len(batch) < CLAIM_BATCH and not self._again:
                    break
            self._arm(await self.store.posts.next_due())
        except Exception:
            log.exception("could not claim the due scheduled posts; the sweep tries again")
            self._arm(None)
        finally:
            # Started only once everything due is claimed: a burst is claimed at once,
            # then published (the publisher bounds the deliveries in flight).
            for post_id in claimed:
                self.publisher.start(post_id)
        return len(claimed)

    async def _fail_missed(self, now: datetime) -> None:
        grace = self.config.missed_grace
        cutoff = now - timedelta(seconds=grace) - timedelta(milliseconds=1)
        while missed := await self.store.posts.due(cutoff, limit=CLAIM_BATCH):
            for post_id, when in missed:
                failed = await self.store.posts.fail_missed(
                    post_id, missed_message(when, grace), now, on_finish=self.publisher.on_finish
                )
                if failed is not None:
                    log.warning(
                        "scheduled post %s missed its time (%s); marked failed",
                        post_id,
                        when.isoformat(),
                    )

    async def fire(self, post_id: str) -> bool:
        """Claim one post if it is (still) scheduled and due; True if this call won."""
        now = self.clock()
        claimed = await self.store.posts.claim(
            post_id,
            now=now,
            from_states=(PostStatus.SCHEDULED,),
            due_by=now + EARLY_TOLERANCE,
            urgent=True,
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
        """Safety net: claim every due post the timer did not (its claim failed), and
        resume every `publishing` post with no task in this process (one whose writes
        failed). Returns how many posts were claimed."""
        won = await self.drain()
        await self.publisher.resume()
        return won
