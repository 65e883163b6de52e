"""X (API v2): text, up to 4 images with alt text (or one GIF), or one video.

Docs: https://docs.x.com/x-api/posts/create-post, https://docs.x.com/x-api/media/quickstart
(the OpenAPI at https://api.x.com/2/openapi.json is the reference for every shape).

- Auth: OAuth 1.0a user context (HMAC-SHA1, signed with oauthlib) or an OAuth 2.0
  user token, refreshed once when it expires or X answers 401; the rotating refresh
  token is stored before the new access token is used (`_oauth.py`).
- Media (`media.py`): chunked uploads, checkpointed with their expiry.
- POST /2/tweets has no idempotency key. Before sending, the start time and user
  id are checkpointed; a retried publish, and recover(), look for the post among
  the user's posts since then (GET /2/users/{id}/tweets?start_time=...) before
  anything is sent again. X's duplicate-content 403 backs this up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._lookup import Inconclusive, settled_lookup, window_for
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
    DuplicateError,
    OutcomeUnknownError,
    PlatformError,
)
from octopost.platforms.twitter.api import (
    LABEL,
    Api,
    CreateAnswer,
    MeAnswer,
    TimelineAnswer,
    TwitterOptions,
    decode_creds,
)
from octopost.platforms.twitter.media import MAX_ALT_TEXT, Media
from octopost.platforms.twitter.oauth import FLOW
from octopost.platforms.twitter.text import (
    MAX_WEIGHTED_LENGTH,
    comparable,
    invalid_characters,
    is_blank,
    weighted_length,
)
from octopost.platforms.twitter.text import prepare as prepare_text

#: our clock vs X's `created_at` when looking for a post we may have created
CLOCK_SLACK = 300.0
#: how many of the user's latest posts are searched (X: 5..100)
LOOKUP_COUNT = 20


class TwitterAdapter(BaseAdapter):
    platform: ClassVar[str] = "twitter"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(
        max_chars=MAX_WEIGHTED_LENGTH,
        max_images=4,
        images_with_video=False,
        max_alt_text=MAX_ALT_TEXT,
    )
    options: ClassVar[type[Options]] = TwitterOptions
    threading: ClassVar[str] = "native"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    # -- rules ------------------------------------------------------------------
    @classmethod
    def prepare(cls) -> None:
        prepare_text()

    @classmethod
    def measure(cls, text: str) -> int:
        return weighted_length(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits, blank=is_blank)
        bad = invalid_characters(draft.content)
        if bad:
            problems.append(f"{LABEL} refuses text containing {', '.join(bad)}.")
        return problems

    def _options(self) -> TwitterOptions:
        return TwitterOptions.of(self.account.settings, LABEL)

    def _post_url(self, post_id: str) -> str:
        username = self.account.username
        if username:
            return f"https://x.com/{username}/status/{post_id}"
        return f"https://x.com/i/web/status/{post_id}"

    # -- identity -------------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()  # bad settings or credentials: RejectedError before any call
        self.api.credentials()
        fields = {"user.fields": "profile_image_url"}
        me = (await self.api.call("GET", "/2/users/me", params=fields)).decode(MeAnswer).data
        current = self.account.credentials
        updated = {**current, "kind": decode_creds(current).kind, "user_id": me.id}
        if updated != current:
            await self.account.save_credentials(updated)
        return Identity(
            username=me.username,
            display_name=me.name,
            remote_id=me.id,
            profile_url=f"https://x.com/{me.username}",
            avatar_url=me.profile_image_url,
        )

    async def _user_id(self) -> str:
        user_id = self.api.credentials().user_id
        if user_id:
            return user_id
        return (await self.verify()).remote_id or ""

    # -- publishing -------------------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        done = job.state.get("tweet_id")
        if done:
            return Published(str(done), self._post_url(str(done)))
        options = self._options()
        resent = job.state.get("tweet_sent_at") is not None
        if resent:
            # An earlier attempt sent the create and got no usable answer (5xx, crash).
            found = await self._lookup(draft, job)
            if found is not None:
                return found
        media_ids = await self.media.upload_all(draft, job)
        body: dict[str, Any] = {"text": draft.content}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if options.reply_settings:
            body["reply_settings"] = options.reply_settings
        if draft.reply is not None:  # a later segment of a thread: under the one before
            body["reply"] = {"in_reply_to_tweet_id": draft.reply.parent.post_id}
        if not resent:
            await job.checkpoint(tweet_sent_at=self.deps.clock(), user_id=await self._user_id())
        else:  # recover() waits for a late listing counted from the latest send
            await job.checkpoint(tweet_resent_at=self.deps.clock())
        try:
            resp = await self.api.call("POST", "/2/tweets", json=body, safe_to_retry=False)
        except DuplicateError as exc:
            if not resent:
                raise
            found = await self._lookup(draft, job)
            if found is not None:
                return found
            raise OutcomeUnknownError(
                f"{LABEL} refused the retry as a duplicate, so an earlier attempt probably "
                f"created the post, but it is not among the account's latest posts. Check "
                f"your {LABEL} account before re-posting."
            ) from exc
        try:
            post_id = msgspec.json.decode(resp.body, type=CreateAnswer).data.id
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise OutcomeUnknownError(
                f"{LABEL} answered the post with HTTP {resp.status} but no post id; "
                f"check your {LABEL} account before re-posting."
            ) from exc
        await job.checkpoint(tweet_id=post_id)
        return Published(post_id, self._post_url(post_id))

    # -- recovery -----------------------------------------------------------------------
    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = job.state.get("tweet_id")
        if done:
            return Published(str(done), self._post_url(str(done)))
        if job.state.get("tweet_sent_at") is None:
            return None  # the create was never sent: publishing is safe
        sent_at = max(
            float(job.state["tweet_sent_at"]), float(job.state.get("tweet_resent_at") or 0)
        )
        try:
            found = await settled_lookup(
                lambda: self._lookup(draft, job),
                sent_at=sent_at,
                window=window_for(self.deps),
                deps=self.deps,
            )
        except Inconclusive:
            found = None
        if found is not None:
            return found
        # Not on the timeline (yet?): X has no idempotency key and no lookup by
        # client key, so absence proves nothing about a request still in flight.
        raise OutcomeUnknownError(
            f"{LABEL} did not confirm the post and it is not among the account's latest "
            f"posts; check your {LABEL} account before re-posting."
        )

    async def _lookup(self, draft: Draft, job: PublishJob) -> Published | None:
        """The post with the draft's text created since our first attempt, if any."""
        user_id = str(job.state.get("user_id") or await self._user_id())
        since = float(job.state["tweet_sent_at"]) - CLOCK_SLACK
        query = {
            "max_results": str(LOOKUP_COUNT),
            "start_time": datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if draft.reply is not None:  # a thread's reply is told apart by its conversation
            query["post.fields"] = "conversation_id"
        try:
            resp = await self.api.call("GET", f"/2/users/{user_id}/tweets", params=query)
        except PlatformError as exc:
            if exc.retryable:
                raise
            raise OutcomeUnknownError(
                f"{LABEL} did not confirm the post, and the account's posts could not be "
                f"read ({exc.message}); check your {LABEL} account before re-posting."
            ) from exc
        has_media = bool(draft.images) or draft.video is not None
        wanted = comparable(draft.content)
        root = draft.reply.root.post_id if draft.reply is not None else None
        for tweet in resp.decode(TimelineAnswer).data:
            if root is not None and tweet.conversation_id != root:
                continue
            if comparable(tweet.text, from_x=True, has_media=has_media) == wanted:
                await job.checkpoint(tweet_id=tweet.id)
                return Published(tweet.id, self._post_url(tweet.id))
        return None
