"""What the publisher's request loop works on (a `Unit`: a delivery, or one segment of
a thread), and the thread itself: its segments in order, each one a reply to the one
before.

Each segment's remote id (and Bluesky cid) is stored before the next one is sent, so a
crash or a failure resumes at the first segment that has not landed, and none that
landed is ever sent again: each segment goes through the publisher's own rules for one
post (`sender.PlatformSender.send`: recover() before a resend, the retry decision, the lost-answer
rule).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import msgspec

from octopost.checks import check_drafts
from octopost.media import PublishMedia
from octopost.models import Delivery, DeliveryState, Post, SegmentState
from octopost.platforms.base import Adapter, Draft, Limits, PostRef, Published, PublishJob, Reply
from octopost.platforms.errors import Category
from octopost.shaping import Shaped, draft_for, planned
from octopost.store import Store

log = logging.getLogger("octopost.publisher")


class Failed(NamedTuple):
    """How a post (or a segment) failed, to be recorded."""

    message: str
    category: Category
    retryable: bool


@dataclass(frozen=True)
class Unit:
    """One post on its way to a platform: a delivery (a single post), or one segment of
    a thread; its progress is written to that record."""

    store: Store
    post_id: str
    platform: str
    #: the segment's index in its thread; None: the delivery itself
    segment: int | None
    #: a request may have been in flight (a crash): look before sending
    sending: bool
    #: some attempt may have reached the platform: look before sending or failing
    reached: bool
    #: attempts made before the current publish or retry (each gets a full budget)
    budget_from: int

    @classmethod
    def of(cls, store: Store, delivery: Delivery) -> Unit:
        return cls(
            store,
            delivery.post_id,
            delivery.platform,
            None,
            delivery.state is DeliveryState.SENDING,
            delivery.reached,
            delivery.budget_from,
        )

    @classmethod
    def of_segment(cls, store: Store, delivery: Delivery, segment: SegmentState) -> Unit:
        return cls(
            store,
            delivery.post_id,
            delivery.platform,
            segment.index,
            segment.state is DeliveryState.SENDING,
            segment.reached,
            segment.budget_from,
        )

    async def mark_sending(self, now: datetime) -> int:
        """Before a request leaves (the attempt is counted); returns the attempt number."""
        if self.segment is None:
            return await self.store.deliveries.mark_sending(self.post_id, self.platform, now)
        return await self.store.segments.mark_sending(
            self.post_id, self.platform, self.segment, now
        )

    async def mark_pending(self, now: datetime) -> None:
        if self.segment is None:
            await self.store.deliveries.mark_pending(self.post_id, self.platform, now)
        else:
            await self.store.segments.mark_pending(self.post_id, self.platform, self.segment, now)

    async def mark_reached(self, now: datetime) -> None:
        if self.segment is None:
            await self.store.deliveries.mark_reached(self.post_id, self.platform, now)
        else:
            await self.store.segments.mark_reached(self.post_id, self.platform, self.segment, now)

    async def save_checkpoint(self, state: dict[str, Any], now: datetime) -> None:
        if self.segment is None:
            await self.store.deliveries.save_checkpoint(self.post_id, self.platform, state, now)
        else:
            await self.store.segments.save_checkpoint(
                self.post_id, self.platform, self.segment, state, now
            )


class Slot(Protocol):
    async def take(self) -> None: ...


class Sender(Protocol):
    """What a thread needs of the request loop (`sender.PlatformSender`)."""

    store: Store
    clock: Callable[[], datetime]

    def send(
        self,
        unit: Unit,
        adapter: Adapter,
        draft: Draft,
        job: PublishJob,
        slot: Any,
        account_id: str,
        problems: list[str],
    ) -> Awaitable[Published | Failed]: ...

    def job_for(
        self, unit: Unit, checkpoint: dict[str, Any], media: PublishMedia, attempts: int = 0
    ) -> PublishJob: ...


class ThreadDelivery:
    """One platform's share of a thread."""

    def __init__(
        self,
        sender: Sender,
        post: Post,
        delivery: Delivery,
        adapter: Adapter,
        account_id: str,
        media: PublishMedia,
        slot: Slot,
    ) -> None:
        self.sender = sender
        self.store = sender.store
        self.post = post
        self.delivery = delivery
        self.platform = delivery.platform
        self.adapter = adapter
        self.account_id = account_id
        self.media = media
        self.slot = slot

    async def run(self, shaped: Shaped, limits: Limits) -> None:
        post, platform, clock = self.post, self.platform, self.sender.clock
        # The segments an earlier start stored win over a new split: a resume (or a
        # retry) continues the very chain it began.
        segments = self.delivery.segments or await self.store.segments.open(
            post.id, platform, planned(shaped), clock()
        )
        total = len(segments)
        drafts = [draft_for(s.content, s.media, post.language) for s in segments]
        checks = check_drafts(platform, Shaped("thread", tuple(drafts)), limits).segments or []
        root: PostRef | None = None
        parent: PostRef | None = None
        for segment, draft, check in zip(segments, drafts, checks, strict=True):
            if segment.state is DeliveryState.SUCCEEDED:
                parent = PostRef(segment.remote_id or "", segment.remote_url or "", segment.cid)
                root = root or parent
                continue
            if root is not None and parent is not None:
                draft = msgspec.structs.replace(draft, reply=Reply(root, parent))
            await self.slot.take()
            unit = Unit.of_segment(self.store, self.delivery, segment)
            job = self.sender.job_for(unit, segment.checkpoint, self.media, segment.attempts)
            outcome = await self.sender.send(
                unit, self.adapter, draft, job, self.slot, self.account_id, check.problems
            )
            if not isinstance(outcome, Published):
                # The thread stops here; what landed stays, and a retry continues here.
                message = f"Segment {segment.index + 1} of {total}: {outcome.message}"
                await self.store.segments.fail(
                    post.id,
                    platform,
                    segment.index,
                    error=message,
                    category=outcome.category,
                    retryable=outcome.retryable,
                    now=clock(),
                )
                log.warning(
                    "%s on %s failed [%s]: %s", post.id, platform, outcome.category, message
                )
                return
            await self.store.segments.record(
                post.id,
                platform,
                segment.index,
                remote_id=outcome.post_id,
                remote_url=outcome.post_url,
                cid=outcome.cid,
                simulated=False,
                now=clock(),
            )
            log.info(
                "%s on %s: segment %d of %d published %s",
                post.id,
                platform,
                segment.index + 1,
                total,
                outcome.post_url,
            )
            parent = PostRef(outcome.post_id, outcome.post_url, outcome.cid)
            root = root or parent
        # every segment had landed already (a resume after the last one was stored)
        await self.store.segments.complete(post.id, platform, simulated=False, now=clock())
