"""Publishes one post: concurrent fan-out, per-platform outcome, retries, crash recovery.

Invariants:
- every platform's outcome is written the moment it is known;
- before a request leaves, its delivery is marked `sending` (attempt counted), so
  a crash leaves evidence: on restart such a delivery goes through the adapter's
  `recover()` instead of being sent blindly again;
- a delivery that succeeded is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from octopost.accounts import AccountService, reconnect_message
from octopost.checks import PlatformCheck, account_limits, check_drafts, check_post
from octopost.config import PublishingConfig
from octopost.errors import ConflictError, FieldError, NotFoundError, ValidationError
from octopost.media import Fetcher, PublishMedia
from octopost.models import (
    AccountStatus,
    Delivery,
    DeliveryState,
    Post,
    PostStatus,
    utcnow,
)
from octopost.platforms import ADAPTERS
from octopost.platforms.base import (
    Account,
    Adapter,
    Published,
)
from octopost.platforms.errors import Category
from octopost.platforms.sandbox import simulate
from octopost.sender import PlatformSender, Sleep, Slot
from octopost.shaping import planned, shape
from octopost.store import Store
from octopost.thread_delivery import ThreadDelivery, Unit

log = logging.getLogger("octopost.publisher")

#: runs inside the transaction that settles a post, on the store's writer thread
FinishHook = Callable[[Any, Post], None]


class Publisher:
    def __init__(
        self,
        store: Store,
        accounts: AccountService,
        make_adapter: Callable[[str, Account], Adapter],
        fetcher: Fetcher,
        config: PublishingConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep = asyncio.sleep,
        on_finish: FinishHook | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.make_adapter = make_adapter
        self.fetcher = fetcher
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.on_finish = on_finish
        self.sender = PlatformSender(store, accounts, config, clock=clock, sleep=sleep)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Bounds platform deliveries in flight; not held while waiting to retry.
        self._slots = asyncio.Semaphore(max(1, config.max_in_flight))
        self._stopping = False
        self._abort = asyncio.Event()

    # -- entry points --------------------------------------------------------
    async def check(
        self, post: Post, platforms: list[str] | None = None
    ) -> dict[str, PlatformCheck]:
        return await check_post(
            post,
            platforms or post.platforms,
            accounts=self.accounts,
            make_adapter=self.make_adapter,
            url_check=self.fetcher.url_problem,
        )

    async def publish_now(self, post_id: str, *, sandbox: bool) -> Post:
        """Check every target, claim the post, start publishing in the background."""
        post = await self.store.posts.get(post_id, sandbox)
        if post is None:
            raise NotFoundError(f"No post with id '{post_id}'")
        if post.status not in (PostStatus.DRAFT, PostStatus.SCHEDULED):
            raise ConflictError(
                f"Post '{post_id}' is {post.status.value}; only draft and scheduled posts can be published"
            )
        return await self._checked_claim(
            post, post.platforms, (PostStatus.DRAFT, PostStatus.SCHEDULED)
        )

    async def retry(self, post_id: str, platforms: list[str] | None, *, sandbox: bool) -> Post:
        """Send again only what failed (all failed platforms, or the chosen ones)."""
        post = await self.store.posts.get(post_id, sandbox)
        if post is None:
            raise NotFoundError(f"No post with id '{post_id}'")
        if post.status is PostStatus.PUBLISHING:
            raise ConflictError(
                f"Post '{post_id}' is being published; try again when it has finished"
            )
        if post.status not in (PostStatus.PUBLISHED, PostStatus.FAILED):
            raise ConflictError(
                f"Post '{post_id}' is {post.status.value}; publish it instead of retrying"
            )
        failed = [d.platform for d in post.deliveries if d.state is DeliveryState.FAILED]
        failed += [p for p in post.platforms if p not in {d.platform for d in post.deliveries}]
        if platforms is None:
            targets = failed
        else:
            errors = [
                FieldError(
                    f"platforms[{i}]",
                    f"'{p}' has not failed on this post; only failed platforms are retried",
                )
                for i, p in enumerate(platforms)
                if p not in failed
            ]
            if errors:
                raise ValidationError("Only failed platforms can be retried", errors)
            targets = list(dict.fromkeys(platforms))
        if not targets:
            raise ConflictError(f"Post '{post_id}' has no failed platforms to retry")
        return await self._checked_claim(post, targets, (PostStatus.PUBLISHED, PostStatus.FAILED))

    async def _checked_claim(
        self, post: Post, targets: list[str], from_states: tuple[PostStatus, ...]
    ) -> Post:
        checks = await self.check(post, targets)
        failing = {p: c for p, c in checks.items() if not c.ok}
        if failing:
            details = [
                FieldError(
                    f"platforms.{platform}",
                    " ".join(check.problems),
                    meta={"length": check.length, "limit": check.limit, "account": check.account},
                )
                for platform, check in failing.items()
            ]
            names = ", ".join(failing)
            raise ValidationError(
                f"The post cannot be published to: {names}. Nothing was sent.", details
            )
        claimed = await self.store.posts.claim(
            post.id,
            now=self.clock(),
            from_states=from_states,
            platforms=targets,
            sandbox=post.sandbox,
        )
        if claimed is None:
            raise ConflictError(f"Post '{post.id}' is already being published")
        self.start(claimed.id)
        return claimed

    def start(self, post_id: str) -> bool:
        """Publish a claimed (`publishing`) post in the background, once per process.

        False when it is already running here (or the publisher is stopping)."""
        if self._stopping or post_id in self._tasks:
            return False
        task = asyncio.create_task(self._run(post_id), name=f"publish {post_id}")
        self._tasks[post_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(post_id, None))
        return True

    async def resume(self) -> int:
        """Continue every post in `publishing` that has no task in this process.

        At start-up these are what a crash or a shutdown left; later (the periodic
        sweep calls this) what a failed write left behind. Returns how many started."""
        started = 0
        for post_id in await self.store.posts.publishing_ids():
            if post_id in self._tasks or self._stopping:
                continue
            log.info("resuming interrupted publish of %s", post_id)
            started += self.start(post_id)
        return started

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for running publishes; True when none is left."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        return not self._tasks

    def abort(self) -> None:
        """Cut a graceful `stop()` short (a second Ctrl-C): cancel what runs now."""
        self._abort.set()

    async def stop(self, grace: float) -> None:
        """Shutdown: no new publishes; in-flight ones get `grace` seconds (or until
        `abort()`), then are cancelled (their deliveries stay recoverable for the next start)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        if tasks and not self._abort.is_set():
            log.info(
                "waiting up to %.0f s for %d publishes to finish (stop again to cancel them now)",
                grace,
                len(tasks),
            )
            finished = asyncio.ensure_future(asyncio.wait(tasks))
            aborted = asyncio.ensure_future(self._abort.wait())
            await asyncio.wait(
                [finished, aborted], timeout=grace, return_when=asyncio.FIRST_COMPLETED
            )
            finished.cancel()
            aborted.cancel()
        if self._tasks:
            log.warning(
                "cancelling %d unfinished publishes; they resume at next start", len(self._tasks)
            )
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the work ------------------------------------------------------------
    async def _run(self, post_id: str) -> None:
        try:
            await self._publish(post_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never a silent death: the post stays `publishing` and the sweep resumes it.
            log.exception("publishing %s stopped on an error; it is resumed later", post_id)

    async def _publish(self, post_id: str) -> None:
        post = await self.store.posts.get(post_id)
        if post is None or post.status is not PostStatus.PUBLISHING:
            return
        todo = [
            d for d in post.deliveries if d.state in (DeliveryState.PENDING, DeliveryState.SENDING)
        ]
        log.info("publishing %s to %s", post_id, ", ".join(d.platform for d in todo) or "nothing")
        async with PublishMedia(self.fetcher) as media:
            await asyncio.gather(*(self._deliver(post, d, media) for d in todo))
        final = await self.store.posts.finish(post_id, self.clock(), on_finish=self.on_finish)
        if final is not None:
            log.info("post %s is %s", post_id, final.status.value)

    async def _deliver(self, post: Post, delivery: Delivery, media: PublishMedia) -> None:
        platform = delivery.platform
        slot = Slot(self._slots)
        try:
            # The slot is taken before the checks: a burst of posts then prepares only as
            # many deliveries as can be in flight, instead of all of them at once ahead of
            # the requests that are due to leave.
            await slot.take()
            await self._deliver_inner(post, delivery, media, slot)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected error publishing %s to %s", post.id, platform)
            try:
                await self._fail(
                    post.id,
                    platform,
                    f"Internal error while publishing to {ADAPTERS[platform].label}; "
                    f"check your {ADAPTERS[platform].label} account before re-posting.",
                    Category.UNKNOWN,
                    False,
                )
            except Exception:
                # Recording failed too (disk full?): the delivery stays as it was in the
                # store, the post stays `publishing`, and the sweep resumes it later.
                log.exception(
                    "could not record the outcome of %s on %s; it is resumed later",
                    post.id,
                    platform,
                )
        finally:
            slot.release()

    async def _deliver_inner(
        self, post: Post, delivery: Delivery, media: PublishMedia, slot: Slot
    ) -> None:
        platform = delivery.platform
        label = ADAPTERS[platform].label
        if post.sandbox:
            await self._simulate(post, delivery)
            return
        record = await self.accounts.for_platform(platform)
        if record is None or record.status is not AccountStatus.ACTIVE:
            message = (
                f"No {label} account is connected. Connect one with POST /v1/accounts."
                if record is None
                else reconnect_message(platform)
            )
            await self._fail(post.id, platform, message, Category.AUTH, False)
            return
        handle = await self.accounts.handle(record)
        adapter = self.make_adapter(platform, handle)
        limits = await account_limits(adapter, platform)
        shaped = shape(post, platform, limits.max_chars)
        if delivery.segments or shaped.mode == "thread":
            thread = ThreadDelivery(self.sender, post, delivery, adapter, record.id, media, slot)
            await thread.run(shaped, limits)
            return
        draft = shaped.drafts[0]
        unit = Unit.of(self.store, delivery)
        job = self.sender.job_for(unit, delivery.checkpoint, media, delivery.attempts)
        # Checked again here: a scheduled post's targets are first checked now.
        problems = check_drafts(platform, shaped, limits).problems
        outcome = await self.sender.send(unit, adapter, draft, job, slot, record.id, problems)
        if isinstance(outcome, Published):
            await self._succeed(post.id, platform, outcome)
        else:
            await self._fail(post.id, platform, *outcome)

    async def _simulate(self, post: Post, delivery: Delivery) -> None:
        """A sandbox post: plausible results, no platform (a thread gets one per segment)."""
        platform = delivery.platform
        shaped = shape(post, platform)
        if not delivery.segments and shaped.mode != "thread":
            await self.store.deliveries.mark_sending(post.id, platform, self.clock())
            remote_id, url = simulate(platform)
            await self.store.deliveries.record_success(
                post.id,
                platform,
                remote_id=remote_id,
                remote_url=url,
                simulated=True,
                now=self.clock(),
            )
            return
        segments = await self.store.segments.open(post.id, platform, planned(shaped), self.clock())
        for segment in segments:
            if segment.state is DeliveryState.SUCCEEDED:
                continue
            await self.store.segments.mark_sending(post.id, platform, segment.index, self.clock())
            remote_id, url = simulate(platform)
            await self.store.segments.record(
                post.id,
                platform,
                segment.index,
                remote_id=remote_id,
                remote_url=url,
                cid=None,
                simulated=True,
                now=self.clock(),
            )
        await self.store.segments.complete(post.id, platform, simulated=True, now=self.clock())

    async def _succeed(self, post_id: str, platform: str, published: Published) -> None:
        await self.store.deliveries.record_success(
            post_id,
            platform,
            remote_id=published.post_id,
            remote_url=published.post_url,
            simulated=False,
            now=self.clock(),
        )
        log.info("%s on %s: published %s", post_id, platform, published.post_url)

    async def _fail(
        self, post_id: str, platform: str, message: str, category: Category, retryable: bool
    ) -> None:
        await self.store.deliveries.record_failure(
            post_id,
            platform,
            error=message,
            category=category,
            retryable=retryable,
            now=self.clock(),
        )
        log.warning("%s on %s failed [%s]: %s", post_id, platform, category, message)
