"""Threads and Instagram: the shared container -> status -> publish flow, and token upkeep.

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

Tokens are long-lived (60 days) and refreshable while unexpired and at least 24 h
old (`GET /refresh_access_token?grant_type=th_refresh_token|ig_refresh_token`); they
are refreshed in the last `REFRESH_WINDOW` before expiry, and once after an
expired-token answer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from octopost.platforms._http import Classifier, Response, bounded_poll
from octopost.platforms._meta import classifier, describe, graph_error, reason
from octopost.platforms.base import Account, Deps, Published, PublishJob, decode_credentials
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

log = logging.getLogger("octopost.platforms")

T = TypeVar("T")

DAY = 86400.0
#: A long-lived token lives 60 days from issue or refresh.
TOKEN_LIFETIME = 60 * DAY
#: Refresh when the token expires within this window...
REFRESH_WINDOW = 7 * DAY
#: ...and is at least this old (Meta refuses younger tokens).
MIN_REFRESH_AGE = DAY
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


class GraphCredentials(msgspec.Struct):
    """What a Threads/Instagram account stores. Only `access_token` is required."""

    access_token: str
    #: the Threads user id / Instagram professional account id; verify() fills it
    user_id: str = ""
    #: epoch seconds; 0 = unknown (learned by a first refresh, see refresh_if_due)
    expires_at: float = 0.0
    #: epoch seconds when the token was issued or last refreshed; 0 = unknown
    issued_at: float = 0.0


@dataclass(frozen=True)
class GraphApi:
    """The differences between Threads and Instagram in the shared flow."""

    label: str
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
    #: `grant_type` of /refresh_access_token; None when the token cannot be refreshed
    refresh_grant: str | None
    profile_url: Callable[[str], str]
    #: the /me field holding the id used in paths (Instagram: `user_id`, not the app-scoped `id`)
    user_id_field: str = "id"


@dataclass(frozen=True)
class Plan:
    """Containers for one post: carousel items (may be empty) and the main container."""

    items: list[dict[str, str]]
    main: dict[str, str]
    #: the post text, to recognise the post in the account's media after a lost answer
    text: str


class _Id(msgspec.Struct):
    id: str


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float | None = None


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


def decode(resp: Response, kind: type[T], label: str) -> T:
    try:
        return msgspec.json.decode(resp.body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnavailableError(
            f"{label} answered with an unexpected body: {resp.text(120)!r}", status=resp.status
        ) from exc


def parse_time(value: str) -> float | None:
    """Meta timestamps: `2026-01-05T12:05:00+0000`."""
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt).timestamp()
        except ValueError:
            continue
    return None


def _container_rules(label: str, extra: Classifier | None) -> Classifier:
    """Answers of the publish step that mean "try again later", then the platform's rules."""

    def classify(resp: Response) -> PlatformError | None:
        err = graph_error(resp)
        if err is not None and (err.number == 9007 or err.error_subcode in RETRY_LATER_SUBCODES):
            # "Media ID is not available": the container is not ready (or expired and
            # must be rebuilt); a retried publish() polls it again first.
            return UnavailableError(
                f"{label} is not ready to publish: {describe(err)}", status=resp.status
            )
        return extra(resp) if extra is not None else None

    return classify


def _fingerprint(params: Mapping[str, str]) -> str:
    raw = "\n".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class GraphPublisher:
    """One account's calls to a Meta container API (one instance per adapter)."""

    def __init__(
        self, api: GraphApi, account: Account, deps: Deps, *, extra: Classifier | None = None
    ) -> None:
        self.api = api
        self.account = account
        self.deps = deps
        self.label = api.label
        self.http = deps.http.bind(
            api.label,
            reason=reason,
            classify=classifier(
                api.label, extra=_container_rules(api.label, extra), clock=deps.clock
            ),
        )

    # -- plumbing ---------------------------------------------------------------
    def credentials(self) -> GraphCredentials:
        creds = decode_credentials(GraphCredentials, self.account.credentials, self.label)
        if not creds.access_token.strip():
            raise RejectedError(f"Invalid {self.label} credentials: access_token is empty")
        return creds

    def url(self, path: str) -> str:
        settings = self.deps.settings
        version = settings.api_version.strip("/")
        return f"{settings.base_url}/{version}/{path}" if version else f"{settings.base_url}/{path}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        safe_to_retry: bool | None = None,
    ) -> Response:
        """One Graph call with the account's token; after an expired-token answer, refresh
        once and repeat (Meta refused the first call, so repeating cannot duplicate it)."""
        stale = dict(self.account.credentials)
        try:
            return await self._send(method, path, params, data, safe_to_retry)
        except AuthExpiredError as exc:
            if self.api.refresh_grant is None:
                raise
            try:
                await self.account.refresh(stale, self._refreshed)
            except (RejectedError, UnavailableError):
                raise exc from None
            return await self._send(method, path, params, data, safe_to_retry)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        safe_to_retry: bool | None,
    ) -> Response:
        # The token goes in the query, as in all of Meta's examples (Bearer headers
        # are accepted too, but only third-party SDKs document them for Threads).
        query = {**(params or {}), "access_token": self.credentials().access_token.strip()}
        return await self.http.request(
            method,
            self.url(path),
            params=query,
            data=dict(data) if data else None,
            safe_to_retry=safe_to_retry,
        )

    # -- tokens -------------------------------------------------------------------
    async def _refreshed(self, current: dict[str, Any]) -> dict[str, Any]:
        """The complete new credentials after `GET /refresh_access_token` (unversioned)."""
        creds = decode_credentials(GraphCredentials, current, self.label)
        assert self.api.refresh_grant is not None
        resp = await self.http.request(
            "GET",
            f"{self.deps.settings.base_url}/refresh_access_token",
            params={"grant_type": self.api.refresh_grant, "access_token": creds.access_token},
        )
        token = decode(resp, _Token, self.label)
        now = self.deps.clock()
        return {
            **current,
            "access_token": token.access_token,
            "expires_at": now + (token.expires_in or TOKEN_LIFETIME),
            "issued_at": now,
        }

    async def refresh_if_due(self) -> None:
        """Refresh a token that expires within REFRESH_WINDOW (and is old enough).

        A token of unknown expiry (pasted by the user) is refreshed once to learn it;
        if Meta refuses because the token is younger than 24 h, it is recorded as
        fresh (expiring 60 days from now). A refresh that fails for any reason but an
        invalid token leaves the current token in use.
        """
        if self.api.refresh_grant is None:
            return
        creds = self.credentials()
        now = self.deps.clock()
        if creds.expires_at and creds.expires_at - now > REFRESH_WINDOW:
            return
        if creds.issued_at and now - creds.issued_at < MIN_REFRESH_AGE:
            return

        async def refresh(current: dict[str, Any]) -> dict[str, Any]:
            try:
                return await self._refreshed(current)
            except (RejectedError, AuthExpiredError):
                if decode_credentials(GraphCredentials, current, self.label).expires_at:
                    raise
                return {**current, "expires_at": now + TOKEN_LIFETIME, "issued_at": now}

        try:
            await self.account.refresh(dict(self.account.credentials), refresh)
        except (RejectedError, UnavailableError) as exc:
            log.warning("%s token refresh failed (%s); using the current token", self.label, exc)

    async def me(self, fields: str) -> dict[str, Any]:
        """`GET /me?fields=...` (the identity endpoint of both platforms)."""
        data = (await self.call("GET", "me", params={"fields": fields})).json()
        if not isinstance(data, dict):
            raise UnavailableError(f"{self.label} answered /me with an unexpected body")
        return data

    async def adopt_user_id(self, user_id: str) -> None:
        """Store the account's user id (verify learns it) unless it is already stored."""
        current = dict(self.account.credentials)
        if user_id and current.get("user_id") != user_id:
            await self.account.save_credentials({**current, "user_id": user_id})

    async def user_id(self) -> str:
        creds = self.credentials()
        if creds.user_id:
            return creds.user_id
        me = await self.me(self.api.user_id_field)
        user_id = str(me.get(self.api.user_id_field) or me.get("id") or "")
        if not user_id:
            raise UnavailableError(f"{self.label} did not say which account the token belongs to")
        await self.adopt_user_id(user_id)
        return user_id

    # -- publishing -----------------------------------------------------------------
    async def publish(self, plan: Plan, job: PublishJob) -> Published:
        done = self._done(job)
        if done is not None:
            return done
        await self.refresh_if_due()
        uid = await self.user_id()
        for rebuilt in (False, True):
            try:
                return await self._publish_once(plan, job, uid)
            except _Expired:
                await job.checkpoint(containers={}, publish_sent_at=None)
                if rebuilt:
                    raise UnavailableError(
                        f"{self.label} let the media containers expire twice; try again"
                    ) from None
        raise AssertionError("unreachable")

    def _done(self, job: PublishJob) -> Published | None:
        media_id, url = job.state.get("media_id"), job.state.get("post_url")
        return Published(str(media_id), str(url)) if media_id and url else None

    async def _publish_once(self, plan: Plan, job: PublishJob, uid: str) -> Published:
        main = (job.state.get("containers") or {}).get("main")
        # An earlier attempt sent the publish call: settle it before anything else.
        if main and job.state.get("publish_sent_at") and await self.status(main["id"]) == PUBLISHED:
            return await self._found(plan, job, uid, main["id"])
        await self.check_quota(uid)
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
        except MediaError:
            await job.checkpoint(containers={})  # a later attempt builds fresh containers
            raise
        if state == PUBLISHED:
            return await self._found(plan, job, uid, creation_id)
        await job.checkpoint(publish_sent_at=self.deps.clock())
        try:
            resp = await self.call(
                "POST",
                f"{uid}/{self.api.publish_edge}",
                data={"creation_id": creation_id},
                safe_to_retry=False,
            )
        except RejectedError:
            # E.g. the container was published by an attempt whose answer was lost.
            if await self.status(creation_id) == PUBLISHED:
                return await self._found(plan, job, uid, creation_id)
            raise
        media_id = decode(resp, _Id, self.label).id
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
            "POST", f"{uid}/{self.api.create_edge}", data=params, safe_to_retry=True
        )
        container_id = decode(resp, _Id, self.label).id
        containers[slot] = {"id": container_id, "src": fingerprint}
        await job.checkpoint(containers=containers)
        return container_id

    async def container_status(self, container_id: str) -> dict[str, Any]:
        resp = await self.call("GET", container_id, params={"fields": self.api.status_fields})
        data = resp.json()
        return data if isinstance(data, dict) else {}

    async def status(self, container_id: str) -> str:
        return str((await self.container_status(container_id)).get(self.api.status_key) or "")

    async def _wait(self, container_id: str) -> str:
        """Poll until FINISHED or PUBLISHED; ERROR -> MediaError, EXPIRED -> _Expired."""

        async def check() -> str | None:
            info = await self.container_status(container_id)
            state = str(info.get(self.api.status_key) or "")
            if state in (FINISHED, PUBLISHED):
                return state
            if state == ERROR:
                detail = str(info.get(self.api.error_key) or "").strip() or "unknown error"
                raise MediaError(f"{self.label} could not process the media: {detail}")
            if state == EXPIRED:
                raise _Expired(container_id)
            return None

        result: str = await bounded_poll(
            check,
            interval=self.deps.settings.poll_interval,
            timeout=self.deps.settings.poll_timeout,
            sleep=self.deps.sleep,
            what="media processing",
            label=self.label,
        )
        return result

    async def _published(self, job: PublishJob, media_id: str) -> Published:
        """The post URL from `permalink`; the profile URL if the lookup fails (it is posted)."""
        url = ""
        try:
            resp = await self.call("GET", media_id, params={"fields": "permalink"})
            url = str((resp.json() or {}).get("permalink") or "")
        except PlatformError as exc:
            log.warning("%s permalink lookup for %s failed: %s", self.label, media_id, exc)
        url = url or self.api.profile_url(self.account.username or "")
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
        fields = f"id,timestamp,permalink,{self.api.text_field}"
        resp = await self.call(
            "GET", f"{uid}/{self.api.create_edge}", params={"fields": fields, "limit": "25"}
        )
        since = float(job.state.get("publish_sent_at") or 0) - MATCH_SLACK
        wanted = plan.text.strip()
        best: tuple[float, _Media] | None = None
        for media in decode(resp, _MediaList, self.label).data:
            when = parse_time(media.timestamp)
            if when is None or when < since:
                continue
            if (media.text or media.caption).strip() != wanted:
                continue
            if best is None or when < best[0]:
                best = (when, media)
        return best[1] if best else None

    # -- quota --------------------------------------------------------------------------
    async def check_quota(self, uid: str) -> None:
        """Refuse early when the rolling 24 h publishing quota is spent.

        The publish step enforces the quota too; when this read fails we let it.
        """
        try:
            resp = await self.call(
                "GET", f"{uid}/{self.api.quota_edge}", params={"fields": "quota_usage,config"}
            )
            quotas = decode(resp, _QuotaList, self.label).data
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
                f"{uid}/{self.api.create_edge}",
                params={"fields": "id,timestamp", "limit": str(min(100, max(used, 25)))},
            )
            listed = decode(resp, _MediaList, self.label).data
        except PlatformError:
            return window
        stamps = sorted(
            (
                t
                for t in (parse_time(m.timestamp) for m in listed)
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
            uid = await self.user_id()
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
