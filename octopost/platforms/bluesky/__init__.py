"""Bluesky adapter: AT Protocol XRPC against the account's PDS (default https://bsky.social).

Docs: https://docs.bsky.app/docs/advanced-guides/posts (records, facets, embeds).

- Session: handle/email/DID + app password, cached in the credentials and renewed by
  refreshSession (`api.py`); login happens once, not per post.
- Text: plain text plus facets with UTF-8 byte offsets for links, mentions (handles resolved
  to DIDs) and hashtags, detected as the official app does (`text.py`).
- Media (`media.py`): up to 4 images as blobs, or one video through the video
  service; a post with a link and no media gets a link card from the page's Open Graph tags.
- No idempotency header exists, so we choose the record key: a TID generated once and
  checkpointed before the first create. A repeated create with that key can never make a
  second post (the PDS refuses an existing key), so the create is safe to retry, and
  `recover()` asks `com.atproto.repo.getRecord` for that key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from octopost.language import normalize_language
from octopost.platforms._text import graphemes, utf8_length
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
from octopost.platforms.bluesky.api import (
    LABEL,
    POST,
    Api,
    BlueskyOptions,
    Created,
    Credentials,
    Profile,
    Record,
    Resolved,
    SessionInfo,
    new_tid,
    post_url,
    xrpc_error,
)
from octopost.platforms.bluesky.media import Media
from octopost.platforms.bluesky.text import (
    MAX_BYTES,
    MAX_GRAPHEMES,
    Facet,
    detect,
    first_link,
    to_record_facets,
)
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)


class BlueskyAdapter(BaseAdapter):
    platform: ClassVar[str] = "bluesky"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(
        max_chars=MAX_GRAPHEMES, max_bytes=MAX_BYTES, max_images=4, images_with_video=False
    )
    options: ClassVar[type[Options]] = BlueskyOptions
    threading: ClassVar[str] = "native"

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    # -- rules ---------------------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        """Grapheme clusters (the lexicon's `maxGraphemes`); `check` adds the byte limit."""
        return graphemes(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        problems = standard_checks(cls, draft, limits)
        size = utf8_length(draft.content)
        if size > MAX_BYTES:
            problems.append(
                f"Content is {size} bytes in UTF-8; {LABEL} allows at most {MAX_BYTES}."
            )
        # `langs` items have the lexicon format `language` (BCP 47, as Octopost checks it)
        if draft.language and normalize_language(draft.language) is None:
            problems.append(f"{draft.language!r} is not a language tag {LABEL} accepts.")
        return problems

    def _options(self) -> BlueskyOptions:
        return BlueskyOptions.of(self.account.settings, LABEL)

    # -- identity ------------------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()  # bad settings fail the connect, not the first publish
        had_session = bool(self.api.credentials().accessJwt)
        creds = await self.api.session()  # logs in (createSession) when there is no session
        if had_session:
            info = (await self.api.call("GET", "com.atproto.server.getSession")).decode(SessionInfo)
            if (info.handle, info.did) != (creds.handle, creds.did):
                await self.account.save_credentials(
                    {**self.account.credentials, "handle": info.handle, "did": info.did}
                )
            creds = self.api.credentials()
        handle, did = creds.handle or "", creds.did or ""
        return Identity(
            username=handle,
            display_name=await self._display_name(did),
            remote_id=did,
            profile_url=f"https://bsky.app/profile/{handle}",
        )

    async def _display_name(self, did: str) -> str | None:
        try:
            resp = await self.api.call("GET", "app.bsky.actor.getProfile", params={"actor": did})
            return resp.decode(Profile).displayName or None
        except AuthExpiredError:
            raise
        except PlatformError:  # the profile is a nicety; the session is what was verified
            return None

    def _handle(self, creds: Credentials) -> str:
        return creds.handle or self.account.username or ""

    # -- publishing ----------------------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        done = self._done(job)
        if done is not None:
            return done
        options = self._options()
        creds = await self.api.session()
        rkey = job.state.get("rkey")
        if rkey:  # an earlier attempt may have created it and lost the answer
            found = await self._lookup(str(rkey), job)
            if found:
                return found
        record = await self._record(draft, job, options)
        if not rkey:
            rkey = new_tid(self.deps.clock())
            await job.checkpoint(rkey=rkey, created_at=record["createdAt"])
        body = {"repo": creds.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            resp = await self.api.call(
                "POST", "com.atproto.repo.createRecord", json=body, safe_to_retry=True
            )
        except MediaError:
            if job.state.get("video_blob"):  # unreferenced blobs expire: upload it again next time
                await job.checkpoint(video_blob=None, video_job=None)
            raise
        except UnavailableError:
            # A 5xx after the commit, a lost answer, or a repeat of a key that now exists
            # (the PDS answers that with a 500): the record key tells.
            try:
                found = await self._lookup(str(rkey), job)
            except PlatformError:
                found = None
            if found:
                return found
            raise
        created = resp.decode(Created)
        await job.checkpoint(uri=created.uri, cid=created.cid)
        return Published(
            created.uri, post_url(self._handle(creds), created.uri), created.cid or None
        )

    def _done(self, job: PublishJob) -> Published | None:
        done = job.state.get("uri")
        if not done:
            return None
        handle = self._handle(self.api.credentials())
        return Published(done, post_url(handle, done), job.state.get("cid") or None)

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = self._done(job)
        if done is not None:
            return done
        rkey = job.state.get("rkey")
        if not rkey:
            return None  # no create went out
        try:
            return await self._lookup(str(rkey), job)
        except (UnavailableError, RateLimitedError):
            # Resending reuses the record key, which the PDS never lets make a second post.
            return None

    async def _lookup(self, rkey: str, job: PublishJob) -> Published | None:
        """The post under our record key, or None when the PDS has no such record."""
        creds = await self.api.session()
        resp = await self.api.call(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": creds.did or "", "collection": POST, "rkey": rkey},
            ok=(200, 400, 404),
        )
        if resp.status != 200:
            error, message = xrpc_error(resp)
            if error == "RecordNotFound" or resp.status == 404:
                return None
            raise RejectedError(f"{LABEL} refused the record lookup: {message or error}")
        found = resp.decode(Record)
        await job.checkpoint(uri=found.uri, cid=found.cid)
        return Published(found.uri, post_url(self._handle(creds), found.uri), found.cid or None)

    async def _record(
        self, draft: Draft, job: PublishJob, options: BlueskyOptions
    ) -> dict[str, Any]:
        created_at = job.state.get("created_at") or (
            datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        record: dict[str, Any] = {"$type": POST, "text": draft.content, "createdAt": created_at}
        if draft.language:
            record["langs"] = [draft.language]
        if draft.reply is not None:
            # strong refs (uri + cid): the thread's first post, and the post answered
            record["reply"] = {
                "root": {"uri": draft.reply.root.post_id, "cid": draft.reply.root.cid or ""},
                "parent": {"uri": draft.reply.parent.post_id, "cid": draft.reply.parent.cid or ""},
            }
        facets = detect(draft.content)
        record_facets = await to_record_facets(facets, self._resolve)
        if record_facets:
            record["facets"] = record_facets
        embed = await self._embed(draft, job, facets, options)
        if embed:
            record["embed"] = embed
        return record

    async def _embed(
        self, draft: Draft, job: PublishJob, facets: list[Facet], options: BlueskyOptions
    ) -> dict[str, Any] | None:
        if draft.video is not None:
            return await self.media.video(draft.video, job)
        if draft.images:
            return await self.media.images(draft.images, job)
        link = first_link(facets)
        if link and options.link_card:
            return await self.media.card(link, job)
        return None

    async def _resolve(self, handle: str) -> str | None:
        resp = await self.api.call(
            "GET",
            "com.atproto.identity.resolveHandle",
            params={"handle": handle},
            ok=(200, 400, 404),
        )
        if resp.status != 200:  # HandleNotFound: the mention stays plain text
            return None
        return resp.decode(Resolved).did
