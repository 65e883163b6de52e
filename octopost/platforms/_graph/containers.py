"""Threads and Instagram: the shared container -> status -> publish flow.

Both platforms publish in the same steps (docs: developers.facebook.com/docs/threads/posts,
developers.facebook.com/docs/instagram-platform/content-publishing):

1. `POST /{user-id}/{create_edge}` creates a container; the platform fetches the media
   from the public URL itself. Carousels first get one container per item
   (`is_carousel_item=true`), then a CAROUSEL container listing them as `children`.
2. `GET /{container-id}?fields=...` until the status is FINISHED (ERROR: processing
   failed; EXPIRED: not published within 24 h).
3. `POST /{user-id}/{publish_edge}` with `creation_id` publishes it and answers the
   media id; `GET /{media-id}?fields=permalink` gives the post URL.

Only step 3 creates a post, and it is not idempotent. Every container id is
checkpointed as soon as it exists, and a retried publish re-uses them: one
container can be published only once (afterwards its status is PUBLISHED), so a
repeat can never become a second post. A lost answer to step 3 is settled by the
container's status before anything is sent again.

Calls and token upkeep: `session.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from octopost.platforms._graph.errors import describe, graph_error
from octopost.platforms._graph.session import DAY, GraphSession, IdAnswer
from octopost.platforms._http import Response
from octopost.platforms._text import parse_timestamp
from octopost.platforms.base import Published, PublishJob
from octopost.platforms.errors import (
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

log = logging.getLogger("octopost.platforms")

#: Our clock vs the platform's post timestamps when matching a recovered post.
MATCH_SLACK = 600.0
#: Statuses, shared by Threads (`status`) and Instagram (`status_code`).
IN_PROGRESS, FINISHED, PUBLISHED, ERROR, EXPIRED = (
    "IN_PROGRESS",
    "FINISHED",
    "PUBLISHED",
    "ERROR",
    "EXPIRED",
)
#: Instagram: 2207027 not ready, 2207008 media builder expired, 2207020 container expired.
RETRY_LATER_SUBCODES = frozenset({2207008, 2207020, 2207027})


@dataclass(frozen=True)
class Flow:
    """The differences between Threads and Instagram in the shared flow."""

    #: POST: create a container; GET: the account's posts, newest first
    create_edge: str
    publish_edge: str
    quota_edge: str
    #: container fields to read, the one holding the state, the one explaining ERROR
    status_fields: str
    status_key: str
    error_key: str
    #: the post text field in media listings ("text" / "caption")
    text_field: str
    profile_url: Callable[[str], str]


@dataclass(frozen=True)
class Plan:
    """Containers for one post: carousel items (may be empty) and the main container."""

    items: list[dict[str, str]]
    main: dict[str, str]
    #: the post text, to recognise the post in the account's media after a lost answer
    text: str


class _QuotaConfig(msgspec.Struct):
    quota_total: int = 0
    quota_duration: float = DAY


class _Quota(msgspec.Struct):
    quota_usage: int = 0
    config: _QuotaConfig = msgspec.field(default_factory=_QuotaConfig)


class _QuotaList(msgspec.Struct):
    data: list[_Quota] = []


class _Media(msgspec.Struct):
    id: str
    timestamp: str = ""
    permalink: str = ""
    text: str = ""
    caption: str = ""


class _MediaList(msgspec.Struct):
    data: list[_Media] = []


class _Expired(Exception):
    """A container expired before it was published: build the post again."""


def classify(resp: Response, now: float) -> PlatformError | None:
    """Answers of the publish step that mean "try again later" (run before the platform's
    rules and the Graph table)."""
    err = graph_error(resp)
    if err is not None and (err.number == 9007 or err.error_subcode in RETRY_LATER_SUBCODES):
        # "Media ID is not available": the container is not ready (or expired and
        # must be rebuilt); a retried publish() polls it again first.
        return UnavailableError(
            f"{resp.label} is not ready to publish: {describe(err)}", status=resp.status
        )
    return None


def _fingerprint(params: Mapping[str, str]) -> str:
    raw = "\n".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Containers:
    """Publishing through one account's containers (one instance per adapter).

    The adapter's session classifies with this module's `classify` first.
    """

    def __init__(self, flow: Flow, session: GraphSession) -> None:
        self.flow = flow
        self.session = session
        self.account = session.account
        self.deps = session.deps
        self.label = session.label
        self.call = session.call

    # -- publishing -----------------------------------------------------------------
    async def publish(self, plan: Plan, job: PublishJob) -> Published:
        done = self._done(job)
        if done is not None:
            return done
        await self.session.refresh_if_due()
        uid = await self.session.user_id()
        try:
            return await self._publish_once(plan, job, uid)
        except _Expired:  # containers live 24 h: build the post again, once
            await job.checkpoint(containers={}, publish_sent_at=None)
        try:
            return await self._publish_once(plan, job, uid)
        except _Expired:
            await job.checkpoint(containers={}, publish_sent_at=None)
            raise UnavailableError(
                f"{self.label} let the media containers expire twice; try again"
            ) from None

    def _done(self, job: PublishJob) -> Published | None:
        media_id, url = job.state.get("media_id"), job.state.get("post_url")
        return Published(str(media_id), str(url)) if media_id and url else None

    async def _publish_once(self, plan: Plan, job: PublishJob, uid: str) -> Published:
        main = (job.state.get("containers") or {}).get("main")
        # An earlier attempt sent the publish call: settle it before anything else.
        if main and job.state.get("publish_sent_at") and await self.status(main["id"]) == PUBLISHED:
            return await self._found(plan, job, uid, main["id"])
        # The quota is read while the containers are built (one round trip less): a spent
        # quota still refuses before the publish call, and leaves only unpublished
        # containers, which the retry reuses or which expire.
        quota = asyncio.ensure_future(self.check_quota(uid))
        try:
            children = [
                await self._container(job, uid, f"item{n}", params)
                for n, params in enumerate(plan.items)
            ]
            for child in children:
                await self._wait(child)
            params = {**plan.main, "children": ",".join(children)} if children else plan.main
            creation_id = await self._container(job, uid, "main", params)
            state = await self._wait(creation_id)
        except BaseException as exc:
            quota.cancel()
            with contextlib.suppress(BaseException):
                await quota
            if isinstance(exc, MediaError):
                await job.checkpoint(containers={})  # a later attempt builds fresh containers
            raise
        await quota
        if state == PUBLISHED:
            return await self._found(plan, job, uid, creation_id)
        await job.checkpoint(publish_sent_at=self.deps.clock())
        try:
            resp = await self.call(
                "POST",
                f"{uid}/{self.flow.publish_edge}",
                data={"creation_id": creation_id},
                safe_to_retry=False,
            )
        except RejectedError:
            # E.g. the container was published by an attempt whose answer was lost.
            if await self.status(creation_id) == PUBLISHED:
                return await self._found(plan, job, uid, creation_id)
            raise
        media_id = resp.decode(IdAnswer).id
        await job.checkpoint(media_id=media_id)
        return await self._published(job, media_id)

    async def _container(self, job: PublishJob, uid: str, slot: str, params: dict[str, str]) -> str:
        """The container for `slot`: the checkpointed one if its parameters match, else a new one."""
        fingerprint = _fingerprint(params)
        containers: dict[str, Any] = dict(job.state.get("containers") or {})
        entry = containers.get(slot)
        if entry and entry.get("src") == fingerprint:
            return str(entry["id"])
        # A repeat after a lost answer leaves an unused container (they expire after
        # 24 h), never a post: safe to retry.
        resp = await self.call(
            "POST", f"{uid}/{self.flow.create_edge}", data=params, safe_to_retry=True
        )
        container_id = resp.decode(IdAnswer).id
        containers[slot] = {"id": container_id, "src": fingerprint}
        await job.checkpoint(containers=containers)
        return container_id

    async def container_status(self, container_id: str) -> dict[str, Any]:
        resp = await self.call("GET", container_id, params={"fields": self.flow.status_fields})
        data = resp.json()
        return data if isinstance(data, dict) else {}

    async def status(self, container_id: str) -> str:
        return str((await self.container_status(container_id)).get(self.flow.status_key) or "")

    async def _wait(self, container_id: str) -> str:
        """Poll until FINISHED or PUBLISHED; ERROR -> MediaError, EXPIRED -> _Expired."""

        async def check() -> str | None:
            info = await self.container_status(container_id)
            state = str(info.get(self.flow.status_key) or "")
            if state in (FINISHED, PUBLISHED):
                return state
            if state == ERROR:
                detail = str(info.get(self.flow.error_key) or "").strip() or "unknown error"
                raise MediaError(f"{self.label} could not process the media: {detail}")
            if state == EXPIRED:
                raise _Expired(container_id)
            return None

        result: str = await self.deps.poll(check, label=self.label, what="media processing")
        return result

    async def _published(self, job: PublishJob, media_id: str) -> Published:
        """The post URL from `permalink`; the profile URL if the lookup fails (it is posted)."""
        url = ""
        try:
            resp = await self.call("GET", media_id, params={"fields": "permalink"})
            url = str((resp.json() or {}).get("permalink") or "")
        except PlatformError as exc:
            log.warning("%s permalink lookup for %s failed: %s", self.label, media_id, exc)
        url = url or self.flow.profile_url(self.account.username or "")
        await job.checkpoint(post_url=url)
        return Published(media_id, url)

    async def _found(self, plan: Plan, job: PublishJob, uid: str, creation_id: str) -> Published:
        """The container is PUBLISHED: find the post it became on the account."""
        media = None
        try:
            media = await self._match(plan, job, uid)
        except PlatformError as exc:
            log.warning("%s: listing posts to recover %s failed: %s", self.label, creation_id, exc)
        if media is None:
            # Posted for sure (the platform says so) but not found in the listing:
            # report success with the profile URL rather than an error.
            log.warning(
                "%s: container %s is published; its post was not found", self.label, creation_id
            )
            await job.checkpoint(media_id=creation_id)
            return await self._published(job, creation_id)
        await job.checkpoint(media_id=media.id)
        if media.permalink:
            await job.checkpoint(post_url=media.permalink)
            return Published(media.id, media.permalink)
        return await self._published(job, media.id)

    async def _match(self, plan: Plan, job: PublishJob, uid: str) -> _Media | None:
        """The earliest post since the publish call whose text equals the draft's."""
        fields = f"id,timestamp,permalink,{self.flow.text_field}"
        parent = plan.main.get("reply_to_id")
        # A reply is not in the account's media listing: it is under its parent's replies.
        where = f"{parent}/replies" if parent else f"{uid}/{self.flow.create_edge}"
        resp = await self.call("GET", where, params={"fields": fields, "limit": "25"})
        since = float(job.state.get("publish_sent_at") or 0) - MATCH_SLACK
        wanted = plan.text.strip()
        best: tuple[float, _Media] | None = None
        for media in resp.decode(_MediaList).data:
            when = parse_timestamp(media.timestamp)
            if when is None or when < since:
                continue
            if (media.text or media.caption).strip() != wanted:
                continue
            if best is None or when < best[0]:
                best = (when, media)
        return best[1] if best else None

    # -- quota --------------------------------------------------------------------------
    async def check_quota(self, uid: str) -> None:
        """Refuse before the publish call when the rolling 24 h publishing quota is spent
        (read while the containers are built).

        The publish step enforces the quota too; when this read fails we let it.
        """
        try:
            resp = await self.call(
                "GET", f"{uid}/{self.flow.quota_edge}", params={"fields": "quota_usage,config"}
            )
            quotas = resp.decode(_QuotaList).data
        except (RejectedError, UnavailableError) as exc:
            log.warning("%s publishing quota could not be read: %s", self.label, exc)
            return
        if not quotas or not quotas[0].config.quota_total:
            return
        quota = quotas[0]
        total, used, window = (
            quota.config.quota_total,
            quota.quota_usage,
            quota.config.quota_duration,
        )
        if used < total:
            return
        wait = await self._quota_reset(uid, used, window)
        hours = max(1, round(wait / 3600))
        raise RateLimitedError(
            f"{self.label} publishing limit reached: {used} of {total} posts in the last "
            f"{round(window / 3600)} hours. A slot frees up in about {hours} h.",
            retry_after=wait,
            status=None,
        )

    async def _quota_reset(self, uid: str, used: int, window: float) -> float:
        """Seconds until a quota slot frees: when the `used`-th newest post in the window
        leaves it (exact when every post came through the API; later posts made in
        the app are not counted). Without a listing: a whole window, the upper bound."""
        now = self.deps.clock()
        try:
            resp = await self.call(
                "GET",
                f"{uid}/{self.flow.create_edge}",
                params={"fields": "id,timestamp", "limit": str(min(100, max(used, 25)))},
            )
            listed = resp.decode(_MediaList).data
        except PlatformError:
            return window
        stamps = sorted(
            (
                t
                for t in (parse_timestamp(m.timestamp) for m in listed)
                if t is not None and t > now - window
            ),
            reverse=True,
        )
        if len(stamps) < used:
            return window
        return max(60.0, stamps[used - 1] + window - now)

    # -- recovery -------------------------------------------------------------------------
    async def recover(self, plan: Plan, job: PublishJob) -> Published | None:
        """After a lost answer: the post if the container was published, None if it was not.

        None is safe: publish() re-uses the same container, and a container is
        published at most once. Raises OutcomeUnknownError when the status cannot be read.
        """
        done = self._done(job)
        if done is not None:
            return done
        if job.state.get("media_id"):
            return await self._published(job, str(job.state["media_id"]))
        main = (job.state.get("containers") or {}).get("main")
        if not main:
            return None  # no container, so nothing can have been published
        try:
            uid = await self.session.user_id()
            state = await self.status(str(main["id"]))
        except PlatformError as exc:
            raise OutcomeUnknownError(
                f"{self.label} did not confirm the post and its status could not be read "
                f"({exc.message}); check your {self.label} account before re-posting."
            ) from exc
        if state == PUBLISHED:
            return await self._found(plan, job, uid, str(main["id"]))
        if state in (IN_PROGRESS, FINISHED, ERROR, EXPIRED):
            return None
        raise OutcomeUnknownError(
            f"{self.label} reported an unknown container status {state!r}; check your "
            f"{self.label} account before re-posting."
        )
