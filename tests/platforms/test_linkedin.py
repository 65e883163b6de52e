"""LinkedIn adapter against its fake: media flows, little text, tokens, duplicates, recovery.

LinkedIn publishes no length-counting vectors (tests/data/README.md), so the length rule is pinned by the cases below and by the fake's 400 answer.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from yarl import URL

from octopost.platforms.base import Draft, ImageRef, Published, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    DuplicateError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.linkedin import LinkedinAdapter
from octopost.platforms.linkedin.text import RESERVED, escape_commentary
from tests.fakes.linkedin import Fake, render_little
from tests.fakes.media import MediaServer
from tests.platforms.harness import Rig, rig

SEED_AUTH = "Token expired. Reconnect your LinkedIn account."
PERSON = "urn:li:person:782bbtaQ"
TRICKY = (
    "Shipping Octopost 1.0 (beta) today! a\\b | {x} @someone [link](url) <tag> #launch "
    "*bold* _under_ ~strike~ C# #1 mail@x.com https://example.com/a_b(c)#frag"
)


@asynccontextmanager
async def linkedin(
    fake: Fake | None = None, *, verify: bool = True, **creds: Any
) -> AsyncIterator[Rig]:
    fake = fake or Fake()
    fake.credential_changes.update(creds)
    async with fake, rig("linkedin", fake, verify=verify) as r:
        yield r


def fake_of(r: Rig) -> Fake:
    assert isinstance(r.fake, Fake)
    return r.fake


def bodies(fake: Fake, method: str, path: str) -> list[Any]:
    return [json.loads(c.body) for c in fake.calls(method, path) if c.body]


async def raw(
    fake: Fake,
    method: str,
    path: str,
    *,
    token: str | None = "valid",
    version: str | None = "202609",
    restli: bool = True,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A hand-made request to the fake (to prove what it refuses)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {fake.access_token if token == 'valid' else token}"
    if version is not None:
        sent["LinkedIn-Version"] = version
    if restli:
        sent["X-Restli-Protocol-Version"] = "2.0.0"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, URL(fake.url + path, encoded=True), json=body, headers=sent
        ) as resp,
    ):
        text = await resp.text()
        return resp.status, (json.loads(text) if text else None)


def post_body(author: str = PERSON, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "author": author,
        "commentary": "Hello",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# -- identity ---------------------------------------------------------------------------


async def test_verify_resolves_the_person_urn_and_stores_it() -> None:
    async with linkedin(verify=False) as r:
        identity = await r.adapter.verify()
        assert identity.remote_id == PERSON
        assert identity.username == "Alice Example"
        assert r.saved and r.saved[-1]["author"] == PERSON
        assert r.saved[-1]["access_token"] == fake_of(r).access_token


async def test_verify_an_organization_page() -> None:
    async with linkedin(verify=False, author="urn:li:organization:2414183") as r:
        identity = await r.adapter.verify()
        assert identity.username == "devtestco"
        assert identity.display_name == "Devtestco"
        assert identity.profile_url == "https://www.linkedin.com/company/devtestco/"
        result = await r.adapter.publish(Draft("From the page"), r.job())
        assert fake_of(r).posts[0]["author"] == "urn:li:organization:2414183"
        assert result.post_id == fake_of(r).posts[0]["id"]


async def test_posting_as_a_page_you_do_not_admin_is_refused() -> None:
    async with linkedin(author="urn:li:organization:1337") as r:
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("Not my page"), r.job())
        assert info.value.status == 403
        assert "w_organization_social" in info.value.message
        assert fake_of(r).posts == []


async def test_bad_credentials_are_rejections() -> None:
    async with linkedin(verify=False, author="urn:li:person:somebody-else") as r:
        with pytest.raises(RejectedError, match="not the member"):
            await r.adapter.verify()
    async with linkedin(verify=False, author="alice") as r:
        with pytest.raises(RejectedError, match="urn:li:person"):
            await r.adapter.verify()
    async with linkedin(verify=False, access_token=None) as r:
        with pytest.raises(RejectedError, match="Invalid LinkedIn credentials"):
            await r.adapter.verify()


# -- text --------------------------------------------------------------------------------


async def test_text_post_request_shape_and_headers() -> None:
    async with linkedin() as r:
        result = await r.adapter.publish(Draft("Hello LinkedIn"), r.job())
        fake = fake_of(r)
        assert result.post_id == fake.posts[0]["id"]
        assert result.post_id.startswith("urn:li:share:")
        assert result.post_url == f"https://www.linkedin.com/feed/update/{result.post_id}"
        [body] = bodies(fake, "POST", "/rest/posts")
        assert body == post_body(commentary="Hello LinkedIn")
        for call in fake.requests:
            if call.path.startswith(("/rest/", "/v2/")):
                assert call.headers["LinkedIn-Version"] == "202609"
                assert call.headers["X-Restli-Protocol-Version"] == "2.0.0"


async def test_account_settings() -> None:
    async with linkedin() as r:
        r.account.settings = {"visibility": "CONNECTIONS", "disable_reshare": True}
        await r.adapter.publish(Draft("Friends only"), r.job())
        [body] = bodies(fake_of(r), "POST", "/rest/posts")
        assert body["visibility"] == "CONNECTIONS"
        assert body["isReshareDisabledByAuthor"] is True
        r.account.settings = {"visibility": "FRIENDS"}
        with pytest.raises(RejectedError, match="settings"):
            await r.adapter.publish(Draft("Again"), r.job("p2"))


async def test_unescaped_text_is_cut_and_escaped_text_is_kept() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        # Sent as is, LinkedIn answers 201 but keeps only what comes before "(".
        status, _ = await raw(fake, "POST", "/rest/posts", body=post_body(commentary=TRICKY))
        assert status == 201
        assert fake.posts[0]["text"] == "Shipping Octopost 1.0 "
        assert fake.posts[0]["truncated"]
        await r.adapter.publish(Draft(TRICKY), r.job())
        assert fake.posts[1]["text"] == TRICKY
        assert not fake.posts[1]["truncated"]
        sent = bodies(fake, "POST", "/rest/posts")[-1]["commentary"]
        assert " #launch " in sent  # hashtags stay clickable
        assert "C\\# \\#1" in sent and "a\\\\b" in sent and "\\(beta\\)" in sent


def test_escaping_round_trips_through_the_little_parser() -> None:
    rng = random.Random(20261129)
    alphabet = sorted(RESERVED) + list("ab 1#\n\u00e9\U0001f600\uff03")
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert render_little(escape_commentary(text)) == (text, False), repr(text)
    for tag in ("#launch", "#caf\u00e9", "#OctoPost2", "x #a1 y"):
        assert "\\#" not in escape_commentary(tag)
    for not_tag in ("#1", "C#", "# x", "#_x", "(#tag)"):
        assert "\\#" in escape_commentary(not_tag)


def test_the_fake_parses_mentions_and_hashtag_templates() -> None:
    assert render_little("Hi @[Acme \\(EU\\)](urn:li:organization:1234)!") == (
        "Hi Acme (EU)!",
        False,
    )
    assert render_little("{hashtag|\\#|Tech} and {hashtag|#|Two}") == ("#Tech and #Two", False)
    assert render_little("a @b") == ("a ", True)
    assert render_little("tab\\t") == ("tab", True)


# -- length ------------------------------------------------------------------------------


def test_length_is_utf16_units_of_the_escaped_commentary() -> None:
    measure = LinkedinAdapter.measure
    assert measure("a" * 3000) == 3000
    assert measure("\U0001f600") == 2  # astral: a surrogate pair, as Java counts
    assert measure("\u00e9t\u00e9") == 3
    assert measure("(" * 10) == 20  # each reserved character is sent with its backslash
    assert measure("#tag and a_b") == len("#tag and a\\_b")  # a hashtag stays as it is
    limits = LinkedinAdapter.limits
    assert not LinkedinAdapter.check(Draft("a" * 2998 + "\U0001f600"), limits)
    over = LinkedinAdapter.check(Draft("a" * 2999 + "\U0001f600"), limits)
    assert over and "3001 characters" in over[0]
    # 2,000 shown characters, 3,000 on the wire: at the limit; one more reserved one is over
    assert not LinkedinAdapter.check(Draft("(a)" * 500 + "b" * 500), limits)
    heavy = LinkedinAdapter.check(Draft("(a)" * 500 + "b" * 499 + "_"), limits)
    assert heavy and "3001 characters" in heavy[0]


async def test_the_limit_as_linkedin_applies_it() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        full = "(a)" * 500 + "b" * 500  # 3,000 characters once escaped
        await r.adapter.publish(Draft(full), r.job("p1"))
        assert fake.posts[0]["text"] == full
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("b" * 2999 + "\U0001f600"), r.job("p2"))
        assert "ShareCommentary text length (3001 characters)" in info.value.message
        assert "com.linkedin" not in info.value.message
        assert len(fake.posts) == 1


async def test_the_fake_counts_the_commentary_as_sent() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        heavy = "(a)" * 500 + "b" * 499 + "_"  # 2,000 shown, 3,001 escaped
        body = post_body(commentary=escape_commentary(heavy))
        status, data = await raw(fake, "POST", "/rest/posts", body=body)
        assert status == 400 and "(3001 characters)" in data["message"]
        assert fake.posts == []


def test_checks() -> None:
    limits = LinkedinAdapter.limits
    both = Draft("x", images=(ImageRef("https://e/a.jpg"),), video=VideoRef("https://e/v.mp4"))
    assert any("not both" in p for p in LinkedinAdapter.check(both, limits))
    assert any("needs text" in p for p in LinkedinAdapter.check(Draft("  "), limits))
    long_alt = Draft("x", images=(ImageRef("https://e/a.jpg", "a" * 4087),))
    assert any("alt text" in p.lower() for p in LinkedinAdapter.check(long_alt, limits))
    many = Draft("x", images=tuple(ImageRef(f"https://e/{n}.jpg") for n in range(21)))
    assert any("at most 20 images" in p for p in LinkedinAdapter.check(many, limits))
    twenty = Draft("x", images=tuple(ImageRef(f"https://e/{n}.jpg") for n in range(20)))
    assert LinkedinAdapter.check(twenty, limits) == []


# -- images ------------------------------------------------------------------------------


async def test_one_image_with_alt_text(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        draft = Draft("A picture", images=(ImageRef(media_server.at("image.jpg"), "A red square"),))
        await r.adapter.publish(draft, r.job())
        [init] = bodies(fake, "POST", "/rest/images")
        assert init == {"initializeUploadRequest": {"owner": PERSON}}
        [urn] = fake.images
        assert fake.images[urn]["status"] == "AVAILABLE" and fake.images[urn]["size"] > 0
        [body] = bodies(fake, "POST", "/rest/posts")
        assert body["content"] == {"media": {"id": urn, "altText": "A red square"}}
        assert fake.posts[0]["alt_texts"] == ["A red square"]


async def test_several_images_make_a_multi_image_post(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.image_polls = 2  # each image answers PROCESSING twice before AVAILABLE
        names = ("image.jpg", "image2.jpg", "image.png")
        draft = Draft(
            "Three",
            images=(
                ImageRef(media_server.at(names[0]), "first"),
                ImageRef(media_server.at(names[1])),
                ImageRef(media_server.at(names[2]), "third"),
            ),
        )
        await r.adapter.publish(draft, r.job())
        [body] = bodies(fake, "POST", "/rest/posts")
        images = body["content"]["multiImage"]["images"]
        assert [i.get("altText") for i in images] == ["first", None, "third"]
        assert "altText" not in images[1]
        assert [i["id"] for i in images] == list(fake.images)
        assert len(fake.calls("GET", "/rest/images/")) == 9
        assert all(media_server.hits[n] == 1 for n in names)


async def test_a_retried_publish_does_not_upload_images_again(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        draft = Draft("Retry me", images=(ImageRef(media_server.at("image.jpg"), "alt"),))
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        assert list(job.state["image_urns"].values()) == list(fake.images)
        await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(fake.calls("POST", "/rest/images")) == 1
        assert len(fake.calls("PUT", "/dms-uploads/image/")) == 1
        assert len(fake.posts) == 1


async def test_an_image_of_another_type_is_a_media_error(media_server: MediaServer) -> None:
    async with linkedin() as r:
        draft = Draft("Not an image", images=(ImageRef(media_server.at("page.html")),))
        with pytest.raises(MediaError, match="JPEG, PNG or GIF"):
            await r.adapter.publish(draft, r.job())
        assert fake_of(r).calls("POST", "/rest/images") == []


# -- video -------------------------------------------------------------------------------


async def test_video_in_parts_with_etags_and_processing(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.part_size = 100_000  # the 300 KB sample becomes 4 parts
        draft = Draft("A clip", video=VideoRef(media_server.at("video.mp4")))
        job = r.job()
        await r.adapter.publish(draft, job)
        [urn] = fake.videos
        video = fake.videos[urn]
        init, final = bodies(fake, "POST", "/rest/videos")
        assert init["initializeUploadRequest"] == {
            "owner": PERSON,
            "fileSizeBytes": video["size"],
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
        assert len(video["ranges"]) == 4
        assert len(fake.calls("PUT", "/dms-uploads/video/")) == 4
        assert final["finalizeUploadRequest"] == {
            "video": urn,
            "uploadToken": video["token"],
            "uploadedPartIds": video["etags"],
        }
        assert len(fake.calls("GET", "/rest/videos/")) == 3  # PROCESSING, PROCESSING, AVAILABLE
        assert fake.posts[0]["video"] == urn
        assert bodies(fake, "POST", "/rest/posts")[0]["content"] == {"media": {"id": urn}}
        assert job.state["video_urn"] == urn


async def test_failed_video_processing_is_a_media_error(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.video_fails = True
        job = r.job()
        with pytest.raises(MediaError, match="Video format is not supported"):
            await r.adapter.publish(
                Draft("Broken", video=VideoRef(media_server.at("video.mp4"))), job
            )
        assert fake.posts == []
        assert job.state["video_urn"] is None  # the next try uploads again


async def test_a_retried_video_publish_resumes_after_upload(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        draft = Draft("Resume", video=VideoRef(media_server.at("video.mp4")))
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        await r.adapter.publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(bodies(fake, "POST", "/rest/videos")) == 2  # init + finalize once
        assert len(fake.posts) == 1


async def test_video_processing_timeout_is_retryable(media_server: MediaServer) -> None:
    fake = Fake()
    fake.video_polls = 10_000
    async with linkedin(fake) as r:
        with pytest.raises(UnavailableError, match="video processing did not finish"):
            await r.adapter.publish(
                Draft("Slow", video=VideoRef(media_server.at("video.mp4"))), r.job()
            )


# -- tokens ------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_stored_before_use() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        old = fake.access_token
        fake.expire_token()
        saved_at: list[int] = []
        original = r.account.saver

        async def saver(creds: dict[str, Any]) -> None:
            saved_at.append(len(fake.requests))
            await original(creds)

        r.account.saver = saver
        await r.adapter.publish(Draft("After refresh"), r.job())
        assert fake.refreshes == 1
        new = fake.access_token
        assert new != old and r.saved[-1]["access_token"] == new
        assert r.saved[-1]["expires_at"] > time.time() + 5_000_000
        assert r.saved[-1]["refresh_token"] == fake.refresh_token
        posts = [i for i, c in enumerate(fake.requests) if c.path == "/rest/posts"]
        assert fake.requests[posts[-1]].headers["Authorization"] == f"Bearer {new}"
        assert saved_at[-1] <= posts[-1]  # stored before the call that used it


async def test_a_known_expiry_refreshes_before_calling() -> None:
    async with linkedin(verify=False, expires_at=time.time() - 10) as r:
        fake = fake_of(r)
        before = len(fake.requests)
        first = fake.access_token
        await r.adapter.publish(Draft("Fresh token"), r.job())
        assert fake.refreshes == 1
        call = fake.calls("POST", "/rest/posts")[0]
        assert call.headers["Authorization"] != f"Bearer {first}"
        assert fake.requests[before].path == "/oauth/v2/accessToken"


async def test_concurrent_publishes_refresh_only_once() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.expire_token()
        one, two = await asyncio.gather(
            r.adapter.publish(Draft("First"), r.job("p1")),
            r.new_adapter().publish(Draft("Second"), r.job("p2")),
        )
        assert one.post_id != two.post_id
        assert len(fake.calls("POST", "/rest/posts")) == 4  # both met the expired token
        assert fake.refreshes == 1
        assert len(fake.posts) == 2


async def test_a_refused_refresh_means_reconnect() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.refuse_refresh = True
        fake.expire_token()
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("No luck"), r.job())
        assert info.value.message == SEED_AUTH
        assert fake.posts == []


async def test_without_a_refresh_token_a_401_means_reconnect() -> None:
    async with linkedin(refresh_token=None, client_id=None, client_secret=None) as r:
        fake = fake_of(r)
        fake.expire_token()
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("No refresh"), r.job())
        assert info.value.message == SEED_AUTH
        assert fake.calls("POST", "/oauth/") == []


# -- errors and duplicates ---------------------------------------------------------------


async def test_error_mapping() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.fail_next("rate_limit", header=False)  # LinkedIn documents no reset header
        with pytest.raises(RateLimitedError) as limited:
            await r.adapter.publish(Draft("Busy"), r.job())
        assert limited.value.retry_after is None
        fake.fail_next("reject")
        with pytest.raises(RejectedError) as rejected:
            await r.adapter.publish(Draft("Bad"), r.job())
        assert rejected.value.message == (
            "LinkedIn rejected the post: Post violates LinkedIn's Professional Community Policies"
        )
        fake.fail_next("auth", count=2)
        with pytest.raises(AuthExpiredError) as expired:
            await r.adapter.publish(Draft("Auth"), r.job())
        assert expired.value.message == SEED_AUTH
        assert fake.refreshes == 1


async def test_an_inactive_api_version_says_what_to_change() -> None:
    fake = Fake()
    fake.config_changes["api_version"] = "202401"
    async with linkedin(fake, verify=False) as r:
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("Old"), r.job())
        assert "api_version" in info.value.message and "20240101" in info.value.message
        assert not info.value.retryable


async def test_the_same_text_twice_is_a_duplicate() -> None:
    async with linkedin() as r:
        first = await r.adapter.publish(Draft("Same words"), r.job("p1"))
        with pytest.raises(DuplicateError) as info:
            await r.adapter.publish(Draft("Same words"), r.job("p2"))
        assert not info.value.retryable
        assert first.post_url in info.value.message
        assert len(fake_of(r).posts) == 1


@pytest.mark.parametrize("can_read", [True, False])
async def test_a_retry_after_a_committed_500_adopts_the_post(can_read: bool) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.can_read_posts = can_read
        fake.fail_next("error_after_commit")  # LinkedIn created the post, then answered 500
        job = r.job()
        with pytest.raises(UnavailableError):
            await r.adapter.publish(Draft("Committed"), job)
        again = await r.adapter.publish(Draft("Committed"), r.job(attempt=2, state=dict(job.state)))
        assert again.post_id == fake.posts[0]["id"]
        assert len(fake.posts) == 1


async def test_a_duplicate_of_an_older_post_is_not_adopted() -> None:
    past = time.time() - 3600
    fake = Fake(clock=lambda: past)
    async with linkedin(fake) as r:
        await r.adapter.publish(Draft("Old words"), r.job("old"))
        fake.clock = time.time
        fake.fail_next("unavailable")
        job = r.job("new")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(Draft("Old words"), job)
        with pytest.raises(DuplicateError):
            await r.adapter.publish(
                Draft("Old words"), r.job("new", attempt=2, state=dict(job.state))
            )


# -- recovery ----------------------------------------------------------------------------


async def test_recover_finds_the_post_after_a_lost_answer(media_server: MediaServer) -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        draft = Draft(TRICKY, images=(ImageRef(media_server.at("image.jpg"), "alt"),))
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(draft, job)
        found = await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state)))
        assert isinstance(found, Published)
        assert found.post_id == fake.posts[0]["id"]
        [finder] = fake.calls("GET", "/rest/posts")
        assert finder.headers["X-RestLi-Method"] == "FINDER"
        assert finder.query["author"] == PERSON and finder.query["q"] == "author"


async def test_recover_without_read_access_reports_an_unknown_outcome() -> None:
    async with linkedin() as r:
        fake = fake_of(r)
        fake.can_read_posts = False
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(Draft("Lost"), job)
        with pytest.raises(OutcomeUnknownError, match="Check your LinkedIn account"):
            await r.adapter.recover(Draft("Lost"), r.job(attempt=2, state=dict(job.state)))
        assert len(fake.posts) == 1


async def test_recover_decisions_without_a_post() -> None:
    async with linkedin() as r:
        # nothing was sent: publishing is safe
        assert await r.adapter.recover(Draft("Never sent"), r.job()) is None
        # sent, but no such post among the latest: cannot tell
        with pytest.raises(OutcomeUnknownError, match="latest posts"):
            await r.adapter.recover(Draft("Maybe"), r.job(state={"post_sent_at": time.time()}))
        done = await r.adapter.recover(Draft("x"), r.job(state={"post_urn": "urn:li:share:1"}))
        assert done == Published(
            "urn:li:share:1", "https://www.linkedin.com/feed/update/urn:li:share:1"
        )


# -- the fake is strict ------------------------------------------------------------------


async def test_the_fake_refuses_what_linkedin_refuses() -> None:
    fake = Fake()
    async with fake:
        assert await raw(fake, "POST", "/rest/posts", token=None, body=post_body()) == (
            401,
            {"serviceErrorCode": 65604, "message": "Empty oauth2_access_token", "status": 401},
        )
        status, body = await raw(fake, "POST", "/rest/posts", token="garbage", body=post_body())
        assert (status, body["serviceErrorCode"]) == (401, 65600)
        status, body = await raw(fake, "POST", "/rest/posts", version=None, body=post_body())
        assert (status, body["code"]) == (400, "VERSION_MISSING")
        status, body = await raw(fake, "POST", "/rest/posts", version="202401", body=post_body())
        assert (status, body) == (
            426,
            {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": "Requested version 20240101 is not active",
            },
        )
        status, _ = await raw(fake, "POST", "/rest/posts", restli=False, body=post_body())
        assert status == 400
        status, body = await raw(fake, "POST", "/rest/posts", body=post_body(distribution=None))
        assert status == 422
        assert body["errorDetails"]["inputErrors"][0]["code"] == "MISSING_REQUIRED_FIELD"
        status, body = await raw(fake, "POST", "/rest/posts", body=post_body(lifecycleState="LIVE"))
        assert status == 422
        status, body = await raw(
            fake, "POST", "/rest/posts", body=post_body(author="urn:li:person:someone")
        )
        assert (status, body["code"]) == (403, "ACCESS_DENIED")
        status, body = await raw(
            fake,
            "POST",
            "/rest/posts",
            body=post_body(content={"media": {"id": "urn:li:image:nope"}}),
        )
        assert status == 422 and "MEDIA" in body["errorDetails"]["inputErrors"][0]["code"]
        assert fake.posts == []


async def test_the_fake_checks_media_flows() -> None:
    fake = Fake()
    async with fake:
        init = {"initializeUploadRequest": {"owner": PERSON}}
        _, answer = await raw(fake, "POST", "/rest/images?action=initializeUpload", body=init)
        urn = answer["value"]["image"]
        # an image still waiting for its bytes cannot go on a post
        status, body = await raw(
            fake, "POST", "/rest/posts", body=post_body(content={"media": {"id": urn}})
        )
        assert body["errorDetails"]["inputErrors"][0]["code"] == "MEDIA_ASSET_WAITING_UPLOAD"
        async with aiohttp.ClientSession() as session:
            tampered = answer["value"]["uploadUrl"].replace("%2F", "/")
            async with session.put(tampered, data=b"\xff\xd8\xff\xe0") as resp:
                assert resp.status == 403  # the signed URL must come back byte for byte
        status, _ = await raw(
            fake,
            "POST",
            "/rest/images?action=initializeUpload",
            body={"initializeUploadRequest": {"owner": "urn:li:organization:1337"}},
        )
        assert status == 403
        fake.part_size = 10
        video_init = {
            "initializeUploadRequest": {
                "owner": PERSON,
                "fileSizeBytes": 25,
                "uploadCaptions": False,
                "uploadThumbnail": False,
            }
        }
        _, answer = await raw(fake, "POST", "/rest/videos?action=initializeUpload", body=video_init)
        value = answer["value"]
        etags = []
        async with aiohttp.ClientSession() as session:
            for part in value["uploadInstructions"]:
                size = part["lastByte"] - part["firstByte"] + 1
                async with session.put(part["uploadUrl"], data=b"x" * (size + 1)) as resp:
                    assert resp.status == 400  # the byte range must match
                async with session.put(part["uploadUrl"], data=bytes(range(size))) as resp:
                    etags.append(resp.headers["ETag"])
        final = {"video": value["video"], "uploadToken": value["uploadToken"]}
        status, _ = await raw(
            fake,
            "POST",
            "/rest/videos?action=finalizeUpload",
            body={"finalizeUploadRequest": {**final, "uploadedPartIds": etags[::-1]}},
        )
        assert status == 400  # ETags in the wrong order
        status, _ = await raw(
            fake,
            "POST",
            "/rest/videos?action=finalizeUpload",
            body={"finalizeUploadRequest": {**final, "uploadedPartIds": etags}},
        )
        assert status == 200
        encoded = value["video"].replace(":", "%3A")
        status, body = await raw(fake, "GET", f"/rest/videos/{encoded}")
        assert body["status"] == "PROCESSING"
        status, _ = await raw(fake, "GET", f"/rest/videos/{value['video']}")
        assert status == 400  # fake: URNs in paths are percent-encoded
