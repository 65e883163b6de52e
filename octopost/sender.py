"""One post to one platform, by the publisher's rules: the request loop.

Before a request leaves, its delivery (or thread segment) is marked `sending`; a request
that may have been in flight (a crash) or may have reached the platform (a retry) is
looked for with the adapter's `recover()` before anything is sent again; whether to retry,
look, or give up is `retry.decide()`'s; a final failure that may have reached the platform
is asked about first (the lost-answer rule). Used by the publisher for a single post and
by `thread_delivery` for each segment of a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from octopost.accounts import AccountService, reconnect_message
from octopost.config import PublishingConfig
from octopost.media import PublishMedia
from octopost.platforms import ADAPTERS
from octopost.platforms.base import Adapter, Draft, Published, PublishJob
from octopost.platforms.errors import Category, PlatformError
from octopost.retry import Action, Decision, decide, may_have_reached, unknown_outcome_message
from octopost.store import Store
from octopost.thread_delivery import Failed, Unit

log = logging.getLogger("octopost.publisher")

Sleep = Callable[[float], Awaitable[None]]


class Slot:
    """One delivery's share of `publishing.max_in_flight`: held while it talks to its
    platform (checks, attempts, looking for an earlier attempt's post), given back while
    it waits to retry."""

    __slots__ = ("held", "slots")

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self.slots.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.slots.release()
            self.held = False


class PlatformSender:
    """The request loop (`send`) and the publish job (`job_for`) of one delivery."""

    def __init__(
        self,
        store: Store,
        accounts: AccountService,
        config: PublishingConfig,
        *,
        clock: Callable[[], datetime],
        sleep: Sleep,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.config = config
        self.clock = clock
        self.sleep = sleep

    async def send(
        self,
        unit: Unit,
        adapter: Adapter,
        draft: Draft,
        job: PublishJob,
        slot: Slot,
        account_id: str,
        problems: list[str],
    ) -> Published | Failed:
        """One post (a single post, or one segment of a thread) to its platform, with
        the publisher's rules: a request that may have been in flight (a crash) or may
        have reached the platform (a retry) is looked for with recover() before anything
        is sent; retries by the decision of `retry.py`. `problems`: the platform's checks,
        which refuse the post unless it may already have gone out."""
        platform = unit.platform
        label = ADAPTERS[platform].label
        if unit.sending or unit.reached:
            try:
                found = await adapter.recover(draft, job)
            except PlatformError as exc:
                if unit.sending:
                    log.warning(
                        "%s on %s: outcome unknown (%s)", unit.post_id, platform, exc.message
                    )
                    return Failed(unknown_outcome_message(label), Category.UNKNOWN, False)
                # An explicit retry of a delivery the user was told to check first: the
                # adapter's publish() still consults its checkpoints before sending.
                log.info("%s on %s: retrying after an inconclusive look", unit.post_id, platform)
                found = None
            if found is not None:
                log.info("%s on %s: found the post from an earlier attempt", unit.post_id, platform)
                return found
        if not unit.sending and problems:
            return Failed(" ".join(problems), Category.VALIDATION, False)

        reached = unit.reached
        while True:
            attempt, outcome = await self._attempt(adapter, draft, job, unit, slot)
            if not isinstance(outcome, PlatformError):
                slot.release()  # recording the outcome needs no platform
                await self.accounts.used(account_id)  # last_used_at (throttled)
                return outcome
            decision = decide(
                outcome,
                attempt=attempt - unit.budget_from,
                reached=reached,
                config=self.config,
            )
            if may_have_reached(outcome) and not reached:
                reached = True
                await unit.mark_reached(self.clock())
            if decision.action is Action.RETRY:
                log.info(
                    "%s on %s failed (%s); retrying in %.1fs",
                    unit.post_id,
                    platform,
                    outcome.message,
                    decision.delay,
                )
                await unit.mark_pending(self.clock())
                slot.release()  # not held while waiting to retry
                await self.sleep(decision.delay)
                continue
            if decision.action is Action.RECOVER:
                looked = await self._look(adapter, draft, job, unit.post_id, platform)
                if isinstance(looked, Published):
                    return looked
                if looked is None and decision.resend:
                    continue  # recover() said a resend is safe
                return Failed(unknown_outcome_message(label), Category.UNKNOWN, False)
            return await self._final(adapter, draft, job, unit, account_id, decision)

    async def _look(
        self, adapter: Adapter, draft: Draft, job: PublishJob, post_id: str, platform: str
    ) -> Published | None | PlatformError:
        """recover(): the post, None (not there, or a resend is safe), or why it can't tell."""
        try:
            return await adapter.recover(draft, job)
        except PlatformError as exc:
            log.warning("%s on %s: outcome unknown (%s)", post_id, platform, exc.message)
            return exc

    async def _final(
        self,
        adapter: Adapter,
        draft: Draft,
        job: PublishJob,
        unit: Unit,
        account_id: str,
        decision: Decision,
    ) -> Published | Failed:
        """A final failure; when an attempt may have reached the platform, it is asked first."""
        platform = unit.platform
        label = ADAPTERS[platform].label
        message, category = decision.message, decision.category
        if decision.action is Action.REAUTH:
            message = reconnect_message(platform)
            await self.accounts.mark_reauth(account_id, message)
        if decision.ask:
            found = await self._look(adapter, draft, job, unit.post_id, platform)
            if isinstance(found, Published):
                log.info("%s on %s: found the post after a failed attempt", unit.post_id, platform)
                return found
            # Not confirmed: an earlier attempt may still have made it.
            message = unknown_outcome_message(label)
            if decision.action is Action.REAUTH:
                message += " " + reconnect_message(platform)
            category = Category.UNKNOWN
        return Failed(message, category, decision.retryable)

    async def _attempt(
        self,
        adapter: Adapter,
        draft: Draft,
        job: PublishJob,
        unit: Unit,
        slot: Slot,
    ) -> tuple[int, Published | PlatformError]:
        """One request to the platform, holding an in-flight slot (taken again after a
        wait to retry)."""
        await slot.take()
        attempt = await unit.mark_sending(self.clock())
        job.attempt = attempt
        try:
            return attempt, await adapter.publish(draft, job)
        except PlatformError as exc:
            return attempt, exc

    def job_for(
        self, unit: Unit, checkpoint: dict[str, Any], media: PublishMedia, attempts: int = 0
    ) -> PublishJob:
        async def save(state: dict[str, Any]) -> None:
            await unit.save_checkpoint(state, self.clock())

        # A thread's first post keeps the key a single post has; each later one has its
        # own (Mastodon's Idempotency-Key must differ per status).
        key = f"octopost-{unit.post_id}-{unit.platform}"
        if unit.segment:
            key += f"-{unit.segment}"
        return PublishJob(
            post_id=unit.post_id,
            key=key,
            media=media,
            state=dict(checkpoint),
            attempt=attempts,
            saver=save,
        )
