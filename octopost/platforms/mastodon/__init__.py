"""Mastodon (REST API, any instance): text, up to 4 images with alt text, or one video.

Docs: https://docs.joinmastodon.org/methods/statuses/#create,
https://docs.joinmastodon.org/methods/media/#v2, https://docs.joinmastodon.org/methods/instance/#v2.

Flow: POST /api/v2/media per file (200 = ready; 202 = poll GET /api/v1/media/:id:
206 processing, 200 done, 422 failed), then POST /api/v1/statuses with the media
ids and `Idempotency-Key: job.key`. Mastodon remembers that key per account for
one hour and answers a repeat with the original status, so the create is safe to
resend inside that window; after it, recover() looks the status up on the
account's timeline before anything is sent again.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, ClassVar

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._http import HttpClient
from octopost.platforms._text import parse_timestamp
from octopost.platforms.base import (
    Account,
    BaseAdapter,
    Deps,
    Draft,
    Identity,
    Limits,
    Options,
    Published,
    PublishJob,
    standard_checks,
)
from octopost.platforms.errors import (
    OutcomeUnknownError,
    PlatformError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.mastodon.api import (
    LABEL,
    Api,
    InstanceEntity,
    MastodonLimits,
    MastodonOptions,
    MeAccount,
    StatusEntity,
    comparable,
    html_to_text,
    reason,
)
from octopost.platforms.mastodon.media import Media
from octopost.platforms.mastodon.oauth import FLOW
from octopost.platforms.mastodon.text import URL_LENGTH, status_length
from octopost.platforms.mastodon.text import prepare as prepare_text

#: How long Mastodon remembers an Idempotency-Key (PostStatusService: 3,600 s).
IDEMPOTENCY_WINDOW = 3600.0
#: Resending with the same key is trusted only this long after the first send,
#: leaving room for the resend itself (media polls, backoff) inside the hour.
SAFE_RESEND_WINDOW = IDEMPOTENCY_WINDOW - 600.0
#: Instance limits are cached per instance URL this long.
LIMITS_TTL = 3600.0
#: Our clock vs the server's `created_at` when matching a status in recover().
CLOCK_SLACK = 600.0
NOT_READY = "have not finished processing"

# Instance limits, per HttpClient (one per process in the service, one per rig in tests).
_limits_cache: weakref.WeakKeyDictionary[HttpClient, dict[str, tuple[float, MastodonLimits]]] = (
    weakref.WeakKeyDictionary()
)
#: limit fetches in flight, shared by every publish that needs them meanwhile
_limits_pending: weakref.WeakKeyDictionary[
    HttpClient, dict[str, asyncio.Future[MastodonLimits]]
] = weakref.WeakKeyDictionary()


class MastodonAdapter(BaseAdapter):
    platform: ClassVar[str] = "mastodon"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = MastodonLimits(max_chars=500, max_images=4)
    options: ClassVar[type[Options]] = MastodonOptions
    threading: ClassVar[str] = "native"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    # -- rules ----------------------------------------------------------------
    @classmethod
    def prepare(cls) -> None:
        prepare_text()

    @classmethod
    def measure(cls, text: str) -> int:
        return status_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        # the length by the instance's URL weight
        url_chars = getattr(limits, "url_chars", URL_LENGTH)
        length = status_length(draft.content, "", url_chars)
        return standard_checks(cls, draft, limits, length=length)

    def _options(self) -> MastodonOptions:
        return MastodonOptions.of(self.account.settings, LABEL)

    # -- limits ---------------------------------------------------------------
    async def current_limits(self) -> Limits:
        base = self.api.base()
        cache = _limits_cache.setdefault(self.deps.http, {})
        now = self.deps.clock()
        cached = cache.get(base)
        if cached is not None and now - cached[0] < LIMITS_TTL:
            return cached[1]
        # One fetch at a time per server: a burst of publishes asks once, not once each.
        pending = _limits_pending.setdefault(self.deps.http, {})
        fetch = pending.get(base)
        if fetch is None:
            fetch = pending[base] = asyncio.ensure_future(self._fetch_limits())
            fetch.add_done_callback(lambda _f: pending.pop(base, None))
        limits = await asyncio.shield(fetch)
        cache[base] = (now, limits)
        return limits

    async def _fetch_limits(self) -> MastodonLimits:
        default = self.limits
        for path in ("/api/v2/instance", "/api/v1/instance"):
            try:
                resp = await self.api.call("GET", path)
            except RejectedError:
                continue  # 404 and friends: an older or non-Mastodon server
            info = resp.decode(InstanceEntity)
            if info.configuration is not None:
                statuses = info.configuration.statuses
                return MastodonLimits(
                    max_chars=statuses.max_characters,
                    max_images=statuses.max_media_attachments,
                    url_chars=statuses.characters_reserved_per_url,
                    max_alt_text=info.configuration.media_attachments.description_limit or 1500,
                )
            if info.max_toot_chars:
                return MastodonLimits(max_chars=info.max_toot_chars, max_images=default.max_images)
        return MastodonLimits(max_chars=default.max_chars, max_images=default.max_images)

    # -- identity -------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()
        creds = self.api.credentials()
        base = self.api.base(creds)
        me = await self._me()
        updated = dict(self.account.credentials)
        updated["account_id"] = me.id
        if creds.instance_url:
            updated["instance_url"] = base
        if updated != self.account.credentials:
            await self.account.save_credentials(updated)
        return Identity(
            username=me.username,
            display_name=me.display_name or None,
            remote_id=me.id,
            profile_url=me.url,
            avatar_url=me.avatar,
        )

    async def _me(self) -> MeAccount:
        return (await self.api.call("GET", "/api/v1/accounts/verify_credentials")).decode(MeAccount)

    # -- publishing -----------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        done = self._published_from_state(job)
        if done is not None:
            return done
        base = self.api.base()
        options = self._options()
        media_ids = await self.media.upload_all(draft, job)
        started = job.state.get("create_started_at")
        now = self.deps.clock()
        if started is not None and now - float(started) > SAFE_RESEND_WINDOW:
            # The instance may have forgotten our key: look before sending again.
            try:
                found = await self._find_status(draft, job, base)
            except PlatformError as exc:
                if exc.retryable:
                    raise
                raise OutcomeUnknownError(
                    "An earlier Mastodon attempt is over an hour old and the account's "
                    f"statuses could not be checked ({exc.message}); check your Mastodon "
                    "account before re-posting."
                ) from exc
            if found is not None:
                return found
            started = None
        if started is None:
            await job.checkpoint(create_started_at=now)
        status = await self._create_status(draft, job, media_ids, options)
        return await self._published(status, job, base)

    def _published_from_state(self, job: PublishJob) -> Published | None:
        status_id, status_url = job.state.get("status_id"), job.state.get("status_url")
        if status_id and status_url:
            return Published(str(status_id), str(status_url))
        return None

    async def _published(self, status: StatusEntity, job: PublishJob, base: str) -> Published:
        url = (
            status.url or status.uri or f"{base}/@{self.account.username or 'unknown'}/{status.id}"
        )
        await job.checkpoint(status_id=status.id, status_url=url)
        return Published(status.id, url)

    async def _create_status(
        self, draft: Draft, job: PublishJob, media_ids: list[str], options: MastodonOptions
    ) -> StatusEntity:
        body: dict[str, Any] = {"status": draft.content}
        if media_ids:
            body["media_ids"] = media_ids
            if options.sensitive:
                body["sensitive"] = True
        if options.visibility:
            body["visibility"] = options.visibility
        if draft.language:
            body["language"] = draft.language
        if draft.reply is not None:  # a later segment of a thread: under the one before
            body["in_reply_to_id"] = draft.reply.parent.post_id
        resp = await self.api.call(
            "POST",
            "/api/v1/statuses",
            headers={"Idempotency-Key": job.key},
            json=body,
            safe_to_retry=True,  # same Idempotency-Key: a repeat returns the original
            ok=(200, 422),
        )
        if resp.status == 422:
            if NOT_READY in (reason(resp) or ""):
                # The instance has not finished the attached media (though it said so):
                # the publisher sends again after a pause, with the same key.
                raise UnavailableError(
                    f"{LABEL} has not finished processing the attached media yet",
                    status=422,
                    retry_after=self.deps.settings.poll_interval,
                )
            raise self.api.http.error_for(resp)
        return resp.decode(StatusEntity)

    # -- recovery ---------------------------------------------------------------
    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = self._published_from_state(job)
        if done is not None:
            return done
        started = job.state.get("create_started_at")
        if started is None:
            return None  # the create was never sent
        base = self.api.base()
        within = self.deps.clock() - float(started) <= SAFE_RESEND_WINDOW
        try:
            found = await self._find_status(draft, job, base)
        except PlatformError:
            if within:
                return None  # the instance answers a resend with the original status
            raise OutcomeUnknownError(
                "Mastodon did not confirm the post and the status could not be looked up; "
                "check your Mastodon account before re-posting."
            ) from None
        if found is not None or within:
            return found
        raise OutcomeUnknownError(
            "Mastodon did not confirm the post over an hour ago and no matching status is on "
            "the account's timeline; check your Mastodon account before re-posting."
        )

    async def _find_status(self, draft: Draft, job: PublishJob, base: str) -> Published | None:
        """A status on the account's timeline with the draft's text and media count."""
        account_id = self.api.credentials().account_id or (await self._me()).id
        resp = await self.api.call(
            "GET",
            f"/api/v1/accounts/{account_id}/statuses",
            params={"limit": "40", "exclude_reblogs": "true"},
        )
        statuses = resp.decode(list[StatusEntity])
        since = float(job.state.get("create_started_at") or 0) - CLOCK_SLACK
        media_count = 1 if draft.video is not None else len(draft.images)
        wanted = comparable(draft.content)
        parent = draft.reply.parent.post_id if draft.reply is not None else None
        for status in statuses:
            created = parse_timestamp(status.created_at)
            if created is not None and created < since:
                continue
            if status.in_reply_to_id != parent:  # a thread's segment: found by its parent too
                continue
            if len(status.media_attachments) != media_count:
                continue
            if comparable(html_to_text(status.content)) == wanted:
                return await self._published(status, job, base)
        return None
