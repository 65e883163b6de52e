"""Threads: length and link rules, each media flow, recovery, token refresh, and a strict fake."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from octopost.platforms._graph.errors import classify as graph_classify
from octopost.platforms._http import Response
from octopost.platforms.base import Draft, ImageRef, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.threads import ThreadsAdapter
from octopost.platforms.threads.text import threads_length, unique_links
from tests.fakes._meta_graph import DAY
from tests.fakes.media import MediaServer
from tests.fakes.threads import Fake, meta_length
from tests.platforms.harness import rig

LIMITS = ThreadsAdapter.limits


def images(media: MediaServer, count: int) -> tuple[ImageRef, ...]:
    names = ["image.jpg", "image2.jpg", "image3.jpg", "image4.jpg", "image.png"]
    return tuple(ImageRef(media.at(names[i]), f"Alt text {i + 1}") for i in range(count))


async def raw(
    fake: Fake, method: str, path: str, *, token: str | None = "", **params: str
) -> tuple[int, Any]:
    """A request to the fake without the adapter (to prove the fake is strict)."""
    query = dict(params)
    if token is not None:
        query["access_token"] = token or fake.token
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, params=query) as resp,
    ):
        return resp.status, json.loads(await resp.read())


def creates(fake: Fake) -> list[dict[str, str]]:
    return fake.received


# -- length and links ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("a" * 500, 500),
        ("héllo", 5),
        ("he\u0301llo", 6),  # a combining accent is a code point of its own
        ("👍", 4),
        ("❤️", 6),  # U+2764 (3 bytes) + VS16 (3 bytes)
        ("👍🏽", 8),
        ("🇫🇷", 8),
        ("👨\u200d👩\u200d👧", 18),
        ("#\ufe0f\u20e3", 7),
        ("日本語", 3),
        ("👨\u200d👩\u200d👧\u200d👦", 25),  # a whole ZWJ sequence: every byte of it
        ("🏳\ufe0f\u200d🌈", 14),
    ],
)
def test_counting_rule(text: str, length: int) -> None:
    """Kept as decided: Meta's docs say only "Emojis are counted as the number of UTF-8
    bytes", so an emoji counts all its bytes, the most that sentence can mean."""
    assert threads_length(text) == length
    assert meta_length(text) == length  # the fake counts the same way


def test_emoji_count_against_the_limit() -> None:
    assert not ThreadsAdapter.check(Draft("a" * 496 + "👍"), LIMITS)
    problems = ThreadsAdapter.check(Draft("a" * 497 + "👍"), LIMITS)
    assert problems == ["Content is 501 characters as Threads counts them; the limit is 500."]


def test_links_are_counted_once_each() -> None:
    text = (
        "https://a.com/x HTTPS://A.com/x/ www.facebook.com https://www.facebook.com "
        "b.org c.net/path d.io"
    )
    assert unique_links(text) == {
        "a.com/x",
        "www.facebook.com",
        "b.org",
        "c.net/path",
        "d.io",
    }
    assert not ThreadsAdapter.check(Draft(text), LIMITS)
    problems = ThreadsAdapter.check(Draft(text + " e.de"), LIMITS)
    assert problems == ["Threads allows at most 5 links in a post; this one has 6."]


def test_check_media_rules(media_server: MediaServer) -> None:
    assert ThreadsAdapter.check(Draft(""), LIMITS) == ["Threads needs text, images or a video."]
    assert not ThreadsAdapter.check(Draft("", images=images(media_server, 1)), LIMITS)
    many = tuple(ImageRef(media_server.at("image.jpg")) for _ in range(20))
    assert not ThreadsAdapter.check(Draft("x", images=many), LIMITS)
    problems = ThreadsAdapter.check(
        Draft("x", images=many, video=VideoRef(media_server.at("video.mp4"))), LIMITS
    )
    assert problems == ["A Threads carousel holds at most 20 items; the post has 21."]
    long_alt = (ImageRef(media_server.at("image.jpg"), "x" * 1001),)
    assert ThreadsAdapter.check(Draft("x", images=long_alt), LIMITS) == [
        "Alt text of image 1 is 1001 characters; Threads allows 1000."
    ]
    assert LIMITS.needs_public_media and not LIMITS.requires_media


# -- identity and tokens ----------------------------------------------------------------
async def test_verify_returns_the_username_and_learns_the_token_expiry() -> None:
    async with Fake() as fake, rig("threads", fake, verify=False) as r:
        before = time.time()
        identity = await r.adapter.verify()
        assert identity.username == "octo_demo"
        assert identity.remote_id == Fake.user_id
        assert identity.profile_url == "https://www.threads.net/@octo_demo"
        # A pasted token of unknown age is refreshed once, which tells its expiry.
        assert len(fake.refreshes) == 1
        creds = r.account.credentials
        assert creds["access_token"] == fake.refreshes[0]
        assert creds["user_id"] == Fake.user_id
        assert creds["expires_at"] >= before + 59 * DAY
        assert r.saved[-1] == creds
        refresh = fake.calls("GET", "/refresh_access_token")[0]
        assert refresh.query["grant_type"] == "th_refresh_token"


async def test_a_token_too_young_to_refresh_is_recorded_as_fresh() -> None:
    fake = Fake()
    fake.token = fake.issue_token(age=3600).value
    async with fake, rig("threads", fake) as r:
        creds = r.account.credentials
        assert creds["access_token"] == fake.token  # kept
        assert fake.refreshes == []
        assert creds["expires_at"] == pytest.approx(time.time() + 60 * DAY, abs=60)
        # Known expiry far away: no further refresh attempts.
        calls = len(fake.calls("GET", "/refresh_access_token"))
        await r.adapter.publish(Draft("hello"), r.job())
        assert len(fake.calls("GET", "/refresh_access_token")) == calls


def near_expiry(fake: Fake, age: float = 57 * DAY) -> dict[str, Any]:
    token = fake.issue_token(age=age)
    return {
        "access_token": token.value,
        "user_id": Fake.user_id,
        "expires_at": token.expires_at,
        "issued_at": token.issued_at,
    }


async def test_a_token_near_expiry_is_refreshed_before_publishing() -> None:
    async with Fake() as fake, rig("threads", fake, verify=False) as r:
        r.account.credentials = near_expiry(fake)
        result = await r.adapter.publish(Draft("hello"), r.job())
        assert result.post_id == fake.posts[0]["id"]
        assert len(fake.refreshes) == 1
        new = fake.refreshes[0]
        assert r.account.credentials["access_token"] == new
        assert r.saved[-1]["access_token"] == new
        assert fake.calls("POST", "/v1.0/")[-1].query["access_token"] == new


async def test_concurrent_publishes_refresh_only_once() -> None:
    async with Fake() as fake, rig("threads", fake, verify=False) as r:
        r.account.credentials = near_expiry(fake)
        second = r.new_adapter()
        results = await asyncio.gather(
            r.adapter.publish(Draft("one"), r.job("p1")),
            second.publish(Draft("two"), r.job("p2")),
        )
        assert {p.post_id for p in results} == {p["id"] for p in fake.posts}
        assert len(fake.posts) == 2
        assert len(fake.refreshes) == 1


async def test_an_expired_token_answer_refreshes_once_and_retries() -> None:
    async with Fake() as fake, rig("threads", fake, verify=False) as r:
        r.account.credentials = near_expiry(fake, age=30 * DAY)  # not due for a refresh
        fake.fail_next("auth")
        result = await r.adapter.publish(Draft("hello"), r.job())
        assert result.post_id == fake.posts[0]["id"]
        assert len(fake.refreshes) == 1
        publishes = fake.calls("POST", "/v1.0/25012345678901234/threads_publish")
        assert (
            publishes[-1].query["access_token"]
            == fake.refreshes[0]
            != publishes[0].query["access_token"]
        )


async def test_a_dead_token_reads_like_the_seed() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        fake.expire(r.account.credentials["access_token"])
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("hello"), r.job())
        assert info.value.message == "Token expired. Reconnect your Threads account."
        assert fake.posts == []


# -- media flows ------------------------------------------------------------------------
async def test_text_post(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        job = r.job()
        result = await r.adapter.publish(Draft("Hello Threads"), job)
        post = fake.posts[0]
        assert result.post_id == post["id"]
        assert result.post_url == post["permalink"]
        assert result.post_url.startswith("https://www.threads.net/@octo_demo/post/")
        assert fake.received == [{"media_type": "TEXT", "text": "Hello Threads"}]
        publish = fake.calls("POST", "/v1.0/25012345678901234/threads_publish")[0]
        assert publish.body.decode() == f"creation_id={post['container']}"
        assert job.state["containers"]["main"]["id"] == post["container"]
        assert job.state["media_id"] == post["id"]


async def test_image_with_alt_text(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        draft = Draft("A picture", images=images(media_server, 1))
        await r.adapter.publish(draft, r.job())
        assert fake.received == [
            {
                "media_type": "IMAGE",
                "image_url": media_server.at("image.jpg"),
                "alt_text": "Alt text 1",
                "text": "A picture",
            }
        ]
        assert fake.posts[0]["media"] == [
            {"url": media_server.at("image.jpg"), "type": "IMAGE", "alt_text": "Alt text 1"}
        ]
        assert media_server.hits["image.jpg"] == 1  # fetched by the platform, not by us


async def test_video_is_polled_until_finished(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        fake.processing_polls = 3
        await r.adapter.publish(
            Draft("A clip", video=VideoRef(media_server.at("video.mp4"))), r.job()
        )
        container = fake.posts[0]["container"]
        assert fake.received[0]["media_type"] == "VIDEO"
        polls = [
            c
            for c in fake.calls("GET", f"/v1.0/{container}")
            if c.query["fields"] == "status,error_message"
        ]
        assert len(polls) == 4  # three IN_PROGRESS, then FINISHED
        assert fake.posts[0]["media_type"] == "VIDEO"


async def test_carousel_of_images_and_a_video(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        r.account.settings = {"reply_control": "followers_only"}
        draft = Draft(
            "Four things",
            images=images(media_server, 3),
            video=VideoRef(media_server.at("video.mp4")),
        )
        await r.adapter.publish(draft, r.job())
        *items, carousel = fake.received
        assert [i["media_type"] for i in items] == ["IMAGE", "IMAGE", "IMAGE", "VIDEO"]
        assert all(i["is_carousel_item"] == "true" and "text" not in i for i in items)
        assert [i.get("alt_text") for i in items] == [
            "Alt text 1",
            "Alt text 2",
            "Alt text 3",
            None,
        ]
        item_ids = [c.id for c in fake.containers.values() if c.carousel_item]
        assert carousel == {
            "media_type": "CAROUSEL",
            "text": "Four things",
            "reply_control": "followers_only",
            "children": ",".join(item_ids),
        }
        for item_id in item_ids:  # each item was polled before the carousel was made
            assert fake.calls("GET", f"/v1.0/{item_id}")
        post = fake.posts[0]
        assert post["media_type"] == "CAROUSEL" and len(post["media"]) == 4


async def test_processing_failure_is_a_media_error_and_a_retry_starts_afresh(
    media_server: MediaServer,
) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        fake.fail_processing = "FAILED_PROCESSING_VIDEO"
        draft = Draft("A clip", video=VideoRef(media_server.at("video.mp4")))
        job = r.job()
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(draft, job)
        assert info.value.message == "Threads could not process the media: FAILED_PROCESSING_VIDEO"
        assert fake.posts == [] and job.state["containers"] == {}
        fake.fail_processing = None
        await r.adapter.publish(draft, job)
        assert len(fake.posts) == 1 and len(fake.received) == 2


async def test_unreachable_media(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(
                Draft("x", video=VideoRef(media_server.at("gone.mp4"))), r.job()
            )
        assert "FAILED_DOWNLOADING_VIDEO" in info.value.message
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(
                Draft("x", images=(ImageRef(media_server.at("gone.jpg")),)), r.job("p2")
            )
        assert "could not be fetched" in info.value.message
        assert fake.posts == []


# -- never twice -------------------------------------------------------------------------
async def test_lost_publish_answer_is_recovered_from_the_container_status(
    media_server: MediaServer,
) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        draft = Draft("Lost answer", images=images(media_server, 2))
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(draft, job)
        assert len(fake.posts) == 1
        later = r.job(attempt=2, state=dict(job.state))
        found = await r.new_adapter().recover(draft, later)
        assert found is not None
        assert found.post_id == fake.posts[0]["id"]
        assert found.post_url == fake.posts[0]["permalink"]
        # A publish after that (e.g. a restart) answers from the checkpoints.
        again = await r.new_adapter().publish(draft, later)
        assert again == found
        assert len(fake.posts) == 1


async def test_publish_after_a_lost_answer_settles_it_first() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(Draft("once"), job)
        state = {k: v for k, v in job.state.items()}
        result = await r.new_adapter().publish(Draft("once"), r.job(attempt=2, state=state))
        assert result.post_id == fake.posts[0]["id"]
        assert len(fake.posts) == 1
        assert len(fake.calls("POST", "/v1.0/25012345678901234/threads_publish")) == 1


async def test_recover_when_nothing_was_published_lets_publish_reuse_the_container() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(Draft("retry me"), job)
        assert job.state["publish_sent_at"]
        assert await r.new_adapter().recover(Draft("retry me"), job) is None
        await r.new_adapter().publish(Draft("retry me"), job)
        assert len(fake.posts) == 1
        assert len(fake.received) == 1  # the checkpointed container was published


async def test_recover_before_any_container_is_safe_and_unknown_when_unreadable() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        assert await r.adapter.recover(Draft("x"), r.job()) is None
        broken = r.job(
            state={"containers": {"main": {"id": "404404", "src": "x"}}, "publish_sent_at": 1.0}
        )
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.recover(Draft("x"), broken)


async def test_an_expired_container_is_rebuilt() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(Draft("late"), job)
        fake.expire_container(job.state["containers"]["main"]["id"])
        await r.adapter.publish(Draft("late"), job)
        assert len(fake.posts) == 1 and len(fake.received) == 2


# -- errors -------------------------------------------------------------------------------
async def test_quota_spent_is_rate_limited_until_a_slot_frees() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        fake.extra_quota_usage = 250
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("one more"), r.job())
        assert "250 of 250 posts" in info.value.message
        assert info.value.retry_after == 86400  # posts made elsewhere: a whole window at most
        # nothing published; the container built while the quota was read stays unpublished
        assert fake.posts == [] and len(fake.received) <= 1


async def test_throttling_with_http_429_reads_the_usage_header() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        fake.throttle_status = 429
        fake.fail_next("rate_limit", retry_after=300)
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("x"), r.job())
        assert info.value.retry_after == 300


async def test_link_limit_answer_from_threads(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        text = " ".join(f"https://site{i}.com" for i in range(6))
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft(text), r.job())  # check() skipped on purpose
        assert info.value.message == (
            "Threads allows at most 5 links in a post (THREADS_API__LINK_LIMIT_EXCEEDED)."
        )


def test_string_and_numeric_graph_codes() -> None:
    def classify(resp: Response) -> object:
        return graph_classify(resp, 0.0)

    body = {"error": {"message": "Invalid parameter", "code": "THREADS_API__LINK_LIMIT_EXCEEDED"}}
    assert isinstance(classify(Response(400, {}, json.dumps(body).encode(), "u")), RejectedError)
    spam = {"error": {"message": "Blocked", "code": 4, "error_subcode": 2207051}}
    error = classify(Response(400, {}, json.dumps(spam).encode(), "u"))
    assert type(error) is RejectedError  # code 4 with this subcode is not throttling
    html = Response(502, {}, b"<html>bad gateway</html>", "u")
    assert classify(html) is None  # falls through to the HTTP status mapping


async def test_bad_account_settings_are_rejected() -> None:
    async with Fake() as fake, rig("threads", fake) as r:
        r.account.settings = {"reply_control": "nobody"}
        with pytest.raises(RejectedError):
            await r.adapter.publish(Draft("x"), r.job())


# -- the fake is strict ---------------------------------------------------------------------
async def test_fake_requires_a_token_and_known_parameters(media_server: MediaServer) -> None:
    async with Fake() as fake:
        status, body = await raw(fake, "GET", "/v1.0/me", token=None)
        assert status == 400 and body["error"]["code"] == 104
        status, body = await raw(fake, "GET", "/v1.0/me", token="nope")
        assert body["error"]["code"] == 190
        status, body = await raw(fake, "POST", f"/v1.0/{Fake.user_id}/threads", media_type="TEXT")
        assert body["error"]["message"] == "(#100) The parameter text is required"
        status, body = await raw(
            fake, "POST", f"/v1.0/{Fake.user_id}/threads", media_type="TEXT", text="x", caption="y"
        )
        assert "caption" in body["error"]["message"]
        status, body = await raw(
            fake, "POST", f"/v1.0/{Fake.user_id}/threads", media_type="TEXT", text="x", alt_text="y"
        )
        assert "alt_text" in body["error"]["message"]
        status, body = await raw(
            fake, "POST", f"/v1.0/{Fake.user_id}/threads", media_type="TEXT", text="a" * 501
        )
        assert "500" in body["error"]["message"]
        status, body = await raw(fake, "GET", "/v2.0/me")
        assert status == 400


async def test_fake_container_and_publish_rules(media_server: MediaServer) -> None:
    async with Fake() as fake:
        fake.processing_polls = 2
        path = f"/v1.0/{Fake.user_id}"
        _, item = await raw(
            fake,
            "POST",
            path + "/threads",
            media_type="IMAGE",
            image_url=media_server.at("image.jpg"),
            is_carousel_item="true",
        )
        _, body = await raw(
            fake, "POST", path + "/threads", media_type="CAROUSEL", children=item["id"]
        )
        assert body["error"]["error_subcode"] == 2207028  # one child is not a carousel
        _, body = await raw(fake, "POST", path + "/threads_publish", creation_id=item["id"])
        assert "Invalid parameter" in body["error"]["message"]  # items are not published alone
        _, text = await raw(fake, "POST", path + "/threads", media_type="TEXT", text="hi")
        _, body = await raw(fake, "POST", path + "/threads_publish", creation_id=text["id"])
        assert body["error"]["code"] == 9007  # still IN_PROGRESS
        _, status = await raw(fake, "GET", f"/v1.0/{text['id']}", fields="status")
        _, status = await raw(fake, "GET", f"/v1.0/{text['id']}", fields="status")
        _, status = await raw(fake, "GET", f"/v1.0/{text['id']}", fields="status")
        assert status == {"id": text["id"], "status": "FINISHED"}
        code, published = await raw(fake, "POST", path + "/threads_publish", creation_id=text["id"])
        assert code == 200 and published["id"] == fake.posts[0]["id"]
        _, body = await raw(fake, "POST", path + "/threads_publish", creation_id=text["id"])
        assert "already been published" in body["error"]["message"]
        _, status = await raw(fake, "GET", f"/v1.0/{text['id']}", fields="status")
        assert status["status"] == "PUBLISHED"
        _, body = await raw(fake, "POST", path + "/threads_publish")
        assert body["error"]["message"] == "(#100) The parameter creation_id is required"
        assert len(fake.posts) == 1


async def test_fake_refresh_rules() -> None:
    async with Fake() as fake:
        young = fake.issue_token(age=60).value
        _, body = await raw(
            fake, "GET", "/refresh_access_token", token=young, grant_type="th_refresh_token"
        )
        assert "too new" in body["error"]["message"]
        fake.expire(young)
        _, body = await raw(
            fake, "GET", "/refresh_access_token", token=young, grant_type="th_refresh_token"
        )
        assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 463)
        code, body = await raw(fake, "GET", "/refresh_access_token", grant_type="th_refresh_token")
        assert code == 200 and body["expires_in"] > 59 * DAY
        # The refreshed-from token stays valid until it expires.
        code, _ = await raw(fake, "GET", "/v1.0/me")
        assert code == 200
