"""LinkedIn adapter: Posts API (`POST /rest/posts`) with the Images and Videos APIs.

Docs: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
(versioned: every call sends `LinkedIn-Version: YYYYMM` and `X-Restli-Protocol-Version: 2.0.0`).

- Text goes out as "little" text (`text.py`): unescaped reserved characters make
  LinkedIn accept the post and silently cut it.
- Media (`media.py`): the Images and Videos APIs, uploads checkpointed.
- The create call has no idempotency key. A retry that LinkedIn refuses as a duplicate
  (422 DUPLICATE_POST, naming the existing post) after an earlier attempt of the same job
  adopts that post; `recover()` looks for the post among the author's latest posts.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from octopost.platforms._connect import OAuthFlow
from octopost.platforms._lookup import Inconclusive, settled_lookup, window_for
from octopost.platforms._text import utf16_length
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
)
from octopost.platforms.errors import DuplicateError, OutcomeUnknownError, RejectedError
from octopost.platforms.linkedin.api import (
    LABEL,
    ORGANIZATION,
    PERSON,
    Api,
    LinkedinOptions,
    Organization,
    Post,
    Posts,
    UserInfo,
    media_ids,
    post_url,
    reason,
)
from octopost.platforms.linkedin.media import Media
from octopost.platforms.linkedin.oauth import FLOW
from octopost.platforms.linkedin.text import escape_commentary

MAX_ALT_TEXT = 4086
#: clock difference tolerated between us and LinkedIn when matching a post's creation time
CLOCK_SKEW = 300.0
#: how many of the author's latest posts recover() looks through
RECOVER_WINDOW = 10


class LinkedinAdapter(BaseAdapter):
    platform: ClassVar[str] = "linkedin"
    label: ClassVar[str] = LABEL
    limits: ClassVar[Limits] = Limits(
        max_chars=3000, max_images=20, images_with_video=False, max_alt_text=MAX_ALT_TEXT
    )
    options: ClassVar[type[Options]] = LinkedinOptions
    threading: ClassVar[str] = "joined"
    oauth: ClassVar[OAuthFlow | None] = FLOW

    def __init__(self, account: Account, deps: Deps) -> None:
        super().__init__(account, deps)
        self.api = Api(account, deps)
        self.media = Media(self.api)

    # -- rules ---------------------------------------------------------------
    @classmethod
    def measure(cls, text: str) -> int:
        """UTF-16 code units of the commentary as sent: escapes included.

        LinkedIn refuses "ShareCommentary text length (N characters) exceeded the maximum
        allowed (3000 characters)" without saying which string it measures, and its
        integration notes advise counting the escaped one. The escaped commentary is never
        shorter than the text it shows (each reserved character gains a backslash), and
        UTF-16 units (Java's String.length(), LinkedIn's backend) are never fewer than code
        points, so this is the larger of the readings: a post heavy in `_`, `(` or `@` is
        held back here rather than refused by LinkedIn.
        """
        return utf16_length(escape_commentary(text))

    def _options(self) -> LinkedinOptions:
        return LinkedinOptions.of(self.account.settings, LABEL)

    # -- identity --------------------------------------------------------------
    async def verify(self) -> Identity:
        self._options()
        creds = self.api.credentials()
        if creds.author and creds.author.startswith(ORGANIZATION):
            identity = await self._organization(creds.author)
        else:
            info = await self._userinfo()
            urn = PERSON + info.sub
            if creds.author and creds.author != urn:
                raise RejectedError(
                    f"The author {creds.author} is not the member this token belongs to ({urn})."
                )
            identity = Identity(
                username=info.name or info.sub,
                display_name=info.name,
                remote_id=urn,
                avatar_url=info.picture,
            )
        if creds.author != identity.remote_id:
            await self.account.save_credentials(
                {**self.account.credentials, "author": identity.remote_id}
            )
        return identity

    async def _userinfo(self) -> UserInfo:
        resp = await self.api.call("GET", "/v2/userinfo", ok=(200, 403))
        if resp.status == 403:
            raise RejectedError(
                f"{LABEL} refused /v2/userinfo ({reason(resp) or 'HTTP 403'}): the token needs "
                "the openid and profile scopes, or give the author URN."
            )
        return resp.decode(UserInfo)

    async def _organization(self, urn: str) -> Identity:
        org_id = urn.removeprefix(ORGANIZATION)
        resp = await self.api.call("GET", f"/rest/organizations/{org_id}", ok=(200, 403, 404))
        if resp.status == 404:
            raise RejectedError(f"{LABEL} has no organization {urn}.")
        if resp.status == 403:  # reading the page needs admin scopes posting does not
            return Identity(username=urn, remote_id=urn)
        org = resp.decode(Organization)
        vanity = org.vanityName
        return Identity(
            username=vanity or org.localizedName or urn,
            display_name=org.localizedName,
            remote_id=urn,
            profile_url=f"https://www.linkedin.com/company/{vanity}/" if vanity else None,
        )

    async def _author(self) -> str:
        author = self.api.credentials().author
        if author:
            return author
        return (await self.verify()).remote_id or ""

    # -- publishing ------------------------------------------------------------
    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        options = self._options()
        done = job.state.get("post_urn")
        if done:
            return Published(done, post_url(done))
        author = await self._author()
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_commentary(draft.content),
            "visibility": options.visibility,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": options.disable_reshare,
        }
        content = await self.media.content(draft, job, author)
        if content:
            body["content"] = content
        sent_before = job.state.get("post_sent_at")
        if sent_before is None:
            await job.checkpoint(post_sent_at=self.deps.clock())
        else:  # recover() waits for a late listing counted from the latest send
            await job.checkpoint(post_resent_at=self.deps.clock())
        try:
            resp = await self.api.call("POST", "/rest/posts", json=body, safe_to_retry=False)
        except DuplicateError as exc:
            # An earlier attempt of this job may have created the post and lost the answer.
            urn = exc.existing
            if sent_before is not None and urn and await self._ours(urn, sent_before):
                await job.checkpoint(post_urn=urn)
                return Published(urn, post_url(urn))
            raise
        urn = resp.headers.get("x-restli-id") or resp.headers.get("x-linkedin-id")
        if not urn:
            data = resp.json()
            urn = data.get("id") if isinstance(data, dict) else None
        if not isinstance(urn, str) or not urn:
            raise OutcomeUnknownError(
                f"{LABEL} accepted the post but did not say its id. Check your LinkedIn account."
            )
        await job.checkpoint(post_urn=urn)
        return Published(urn, post_url(urn))

    async def _ours(self, urn: str, sent_at: float) -> bool:
        """Whether post `urn` was created after our first attempt (True when unreadable)."""
        resp = await self.api.call("GET", f"/rest/posts/{quote(urn, safe='')}", ok=(200, 403, 404))
        if resp.status == 403:  # reading posts needs r_member_social; the duplicate is the evidence
            return True
        if resp.status == 404:
            return False
        return resp.decode(Post).createdAt >= (sent_at - CLOCK_SKEW) * 1000

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        done = job.state.get("post_urn")
        if done:
            return Published(done, post_url(done))
        sent_at = job.state.get("post_sent_at")
        if sent_at is None:
            return None  # the create call never went out: publishing is safe
        author = await self._author()
        latest = max(float(sent_at), float(job.state.get("post_resent_at") or 0))
        try:
            found = await settled_lookup(
                lambda: self._find(draft, job, author, float(sent_at)),
                sent_at=latest,
                window=window_for(self.deps),
                deps=self.deps,
            )
        except Inconclusive:
            found = None
        if found is not None:
            return found
        raise OutcomeUnknownError(
            f"{LABEL} may or may not have created the post: it is not among your "
            f"{RECOVER_WINDOW} latest posts yet. Check your LinkedIn account before re-posting."
        )

    async def _find(
        self, draft: Draft, job: PublishJob, author: str, sent_at: float
    ) -> Published | None:
        """The post among the author's latest ones, made since our first send."""
        query = (
            f"q=author&author={quote(author, safe='')}&count={RECOVER_WINDOW}&sortBy=LAST_MODIFIED"
        )
        try:
            resp = await self.api.call(
                "GET", f"/rest/posts?{query}", headers={"X-RestLi-Method": "FINDER"}
            )
        except RejectedError as exc:
            raise OutcomeUnknownError(
                f"{LABEL} may or may not have created the post, and it cannot be looked up "
                f"({exc.message}). Check your LinkedIn account before re-posting."
            ) from exc
        wanted = {draft.content.strip(), escape_commentary(draft.content).strip()}
        media = set((job.state.get("image_urns") or {}).values())
        if job.state.get("video_urn"):
            media.add(job.state["video_urn"])
        for post in resp.decode(Posts).elements:
            if (
                post.author == author
                and post.createdAt >= (sent_at - CLOCK_SKEW) * 1000
                and post.commentary.strip() in wanted
                and media <= media_ids(post.content)
            ):
                await job.checkpoint(post_urn=post.id)
                return Published(post.id, post_url(post.id))
        return None
