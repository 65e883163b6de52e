"""Instagram: caption and media rules, image / Reel / carousel flows, quota, recovery, refresh."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from octopost.media import Fetcher
from octopost.platforms import settings_for
from octopost.platforms._http import HttpClient, Response
from octopost.platforms.base import Account, Deps, Draft, ImageRef, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.instagram import InstagramAdapter
from octopost.platforms.instagram.api import classify
from octopost.platforms.instagram.text import hashtags, mentions
from tests.fakes._meta_graph import DAY
from tests.fakes.instagram import Fake
from tests.fakes.media import MediaServer
from tests.helpers import Clock
from tests.platforms.harness import rig

LIMITS = InstagramAdapter.limits
UID = Fake.user_id


def images(media: MediaServer, count: int) -> tuple[ImageRef, ...]:
    names = ["image.jpg", "image2.jpg", "image3.jpg", "image4.jpg"]
    return tuple(ImageRef(media.at(names[i]), f"Alt text {i + 1}") for i in range(count))


async def raw(
    fake: Fake, method: str, path: str, *, bearer: bool = False, **params: str
) -> tuple[int, Any]:
    """A request to the fake without the adapter (to prove the fake is strict)."""
    headers = {"Authorization": f"Bearer {fake.token}"} if bearer else {}
    query = dict(params) if bearer else {**params, "access_token": fake.token}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, params=query, headers=headers) as resp,
    ):
        return resp.status, json.loads(await resp.read())


# -- rules ------------------------------------------------------------------------------
def test_media_is_required_and_jpeg_only(media_server: MediaServer) -> None:
    assert InstagramAdapter.check(Draft("just words"), LIMITS) == [
        "Instagram needs an image or a video."
    ]
    assert not InstagramAdapter.check(Draft("", images=images(media_server, 1)), LIMITS)
    png = (ImageRef(media_server.at("image.png")), ImageRef("https://cdn.example/a.webp?x=1"))
    assert InstagramAdapter.check(Draft("x", images=png), LIMITS) == [
        "Instagram accepts only JPEG images; image 1 is a PNG file.",
        "Instagram accepts only JPEG images; image 2 is a WEBP file.",
    ]
    # No extension: Instagram's own answer decides.
    assert not InstagramAdapter.check(
        Draft("x", images=(ImageRef("https://cdn.example/img?id=3"),)), LIMITS
    )
    assert LIMITS.requires_media and LIMITS.needs_public_media and LIMITS.max_images == 10


def test_caption_rules(media_server: MediaServer) -> None:
    pic = images(media_server, 1)
    tags = " ".join(f"#tag{i}" for i in range(30))
    assert len(hashtags(tags + " #TAG0 #tag0")) == 30  # repeats count once
    assert not InstagramAdapter.check(Draft(tags, images=pic), LIMITS)
    assert InstagramAdapter.check(Draft(tags + " #more", images=pic), LIMITS) == [
        "Instagram allows at most 30 hashtags; the caption has 31."
    ]
    names = " ".join(f"@user.{i}" for i in range(21))
    assert len(mentions("mail me: a@b.com @x @X")) == 1
    assert InstagramAdapter.check(Draft(names, images=pic), LIMITS) == [
        "Instagram allows at most 20 @mentions; the caption has 21."
    ]
    assert InstagramAdapter.check(Draft("a" * 2201, images=pic), LIMITS) == [
        "Content is 2201 characters as Instagram counts them; the limit is 2200."
    ]
    alt = (ImageRef(media_server.at("image.jpg"), "x" * 1001),)
    assert InstagramAdapter.check(Draft("x", images=alt), LIMITS) == [
        "Alt text of image 1 is 1001 characters; Instagram allows 1000."
    ]
    many = tuple(ImageRef(media_server.at("image.jpg")) for _ in range(10))
    assert InstagramAdapter.check(
        Draft("x", images=many, video=VideoRef(media_server.at("video.mp4"))), LIMITS
    ) == ["An Instagram carousel holds at most 10 items; the post has 11."]


# -- identity and tokens -------------------------------------------------------------------
async def test_verify_uses_the_professional_account_id() -> None:
    async with Fake() as fake, rig("instagram", fake, verify=False) as r:
        identity = await r.adapter.verify()
        assert identity.username == "octo.shop"
        assert identity.remote_id == UID  # `user_id`, not the app-scoped `id`
        assert identity.profile_url == "https://www.instagram.com/octo.shop/"
        assert r.account.credentials["user_id"] == UID
        assert (
            fake.calls("GET", "/v25.0/me")[0].query["fields"]
            == "user_id,username,name,account_type"
        )
        refresh = fake.calls("GET", "/refresh_access_token")[0]
        assert refresh.query["grant_type"] == "ig_refresh_token"
        assert r.account.credentials["access_token"] == fake.refreshes[0]


async def test_a_token_near_expiry_is_refreshed(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake, verify=False) as r:
        token = fake.issue_token(age=55 * DAY)
        r.account.credentials = {
            "access_token": token.value,
            "user_id": UID,
            "expires_at": token.expires_at,
            "issued_at": token.issued_at,
        }
        await r.adapter.publish(Draft("x", images=images(media_server, 1)), r.job())
        assert len(fake.refreshes) == 1 and len(fake.posts) == 1
        assert r.saved[-1]["access_token"] == fake.refreshes[0]
        assert r.saved[-1]["expires_at"] > time.time() + 59 * DAY


async def test_facebook_login_variant_needs_the_account_id() -> None:
    async with aiohttp.ClientSession() as session:
        settings = settings_for("instagram", {"base_url": "https://graph.facebook.com"})
        deps = Deps(
            http=HttpClient(session),
            settings=settings,
            pages=Fetcher(allow_private=False, max_bytes=1),
        )
        adapter = InstagramAdapter(Account("a", "instagram", {"access_token": "EAAB"}), deps)
        assert adapter.api.refresh_grant is None  # Page tokens are not refreshed here
        with pytest.raises(RejectedError) as info:
            await adapter.verify()
        assert "user_id" in info.value.message


# -- media flows ---------------------------------------------------------------------------
async def test_single_image_with_alt_text(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        result = await r.adapter.publish(
            Draft("Hello #octo", images=images(media_server, 1)), r.job()
        )
        assert fake.received == [
            {
                "image_url": media_server.at("image.jpg"),
                "alt_text": "Alt text 1",
                "caption": "Hello #octo",
            }
        ]
        post = fake.posts[0]
        assert result.post_id == post["id"]
        assert result.post_url == post["permalink"]
        assert result.post_url.startswith("https://www.instagram.com/p/")
        assert post["caption"] == "Hello #octo"
        assert media_server.hits["image.jpg"] == 1
        assert fake.calls("GET", f"/v25.0/{UID}/content_publishing_limit")  # quota read first


async def test_video_is_a_reel(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        r.account.settings = {"share_to_feed": True}
        fake.processing_polls = 4
        video = VideoRef(media_server.at("video.mp4"), thumbnail_url=media_server.at("thumb.jpg"))
        result = await r.adapter.publish(Draft("Watch", video=video), r.job())
        assert fake.received == [
            {
                "media_type": "REELS",
                "video_url": media_server.at("video.mp4"),
                "caption": "Watch",
                "cover_url": media_server.at("thumb.jpg"),
                "share_to_feed": "true",
            }
        ]
        container = fake.posts[0]["container"]
        polls = [
            c
            for c in fake.calls("GET", f"/v25.0/{container}")
            if "status_code" in c.query["fields"]
        ]
        assert len(polls) == 5
        assert result.post_url.startswith("https://www.instagram.com/reel/")


async def test_carousel(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        draft = Draft(
            "Album", images=images(media_server, 3), video=VideoRef(media_server.at("video.mp4"))
        )
        await r.adapter.publish(draft, r.job())
        *items, carousel = fake.received
        assert items[:3] == [
            {
                "image_url": media_server.at(n),
                "alt_text": f"Alt text {i + 1}",
                "is_carousel_item": "true",
            }
            for i, n in enumerate(["image.jpg", "image2.jpg", "image3.jpg"])
        ]
        assert items[3] == {
            "media_type": "VIDEO",
            "video_url": media_server.at("video.mp4"),
            "is_carousel_item": "true",
        }
        children = [c.id for c in fake.containers.values() if c.carousel_item]
        assert carousel == {
            "media_type": "CAROUSEL",
            "caption": "Album",
            "children": ",".join(children),
        }
        assert len(fake.posts) == 1 and len(fake.posts[0]["media"]) == 4


async def test_text_only_is_refused_before_sending() -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        with pytest.raises(RejectedError):
            await r.adapter.publish(Draft("words only"), r.job())
        assert fake.calls("POST", "/v25.0/") == []


async def test_processing_failure_and_refused_media(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        fake.fail_processing = "Error: Unsupported video codec (2207026)"
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(
                Draft("x", video=VideoRef(media_server.at("video.mp4"))), r.job()
            )
        assert "Unsupported video codec" in info.value.message
        fake.fail_processing = None
        png = Draft("x", images=(ImageRef(media_server.at("image.png")),))
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(png, r.job("p2"))  # check() skipped on purpose
        assert "2207005" in info.value.message
        with pytest.raises(MediaError) as info:
            await r.adapter.publish(
                Draft("x", images=(ImageRef(media_server.at("gone.jpg")),)), r.job("p3")
            )
        assert "9004/2207052" in info.value.message
        assert fake.posts == []


# -- quota ---------------------------------------------------------------------------------
async def test_spent_quota_waits_until_a_slot_frees(media_server: MediaServer) -> None:
    clock = Clock()
    async with Fake(clock=clock) as fake, rig("instagram", fake) as r:
        fake.quota_total = 2
        clock.now = time.time() - 10 * 3600  # two posts ten hours ago
        for n in range(2):
            await r.adapter.publish(
                Draft(f"post {n}", images=images(media_server, 1)), r.job(f"p{n}")
            )
        clock.now = time.time()
        received = len(fake.received)
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("third", images=images(media_server, 1)), r.job("p3"))
        assert info.value.message.startswith(
            "Instagram publishing limit reached: 2 of 2 posts in the last 24 hours."
        )
        assert info.value.retry_after == pytest.approx(14 * 3600, abs=120)
        # nothing published: the quota is read while the container is built (it stays
        # unpublished and expires), one round trip less on every publish
        assert len(fake.posts) == 2 and len(fake.received) <= received + 1


def test_publishing_limit_answer_is_rate_limited() -> None:
    body = {"error": {"message": "Limit", "code": 9, "error_subcode": 2207042}}
    error = classify(Response(400, {}, json.dumps(body).encode(), "u"), 0.0)
    assert isinstance(error, RateLimitedError)


# -- never twice ------------------------------------------------------------------------------
async def test_lost_publish_answer_is_recovered(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        draft = Draft("Lost #answer", images=images(media_server, 2))
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(draft, job)
        found = await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state)))
        assert found is not None
        assert (found.post_id, found.post_url) == (fake.posts[0]["id"], fake.posts[0]["permalink"])
        assert len(fake.posts) == 1


async def test_a_retried_publish_reuses_the_checkpointed_containers(
    media_server: MediaServer,
) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        draft = Draft("Retry", images=images(media_server, 2))
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        made = len(fake.received)
        assert made == 3
        await r.new_adapter().publish(draft, job)
        assert len(fake.received) == made and len(fake.posts) == 1


# -- errors ------------------------------------------------------------------------------------
async def test_spam_block_is_a_rejection_not_throttling(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        fake.fail_next("reject")
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("x", images=images(media_server, 1)), r.job())
        assert "We restrict certain activity" in info.value.message
        assert "(#4/2207051)" in info.value.message


async def test_expired_token_reads_like_the_seed(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("instagram", fake) as r:
        fake.expire(r.account.credentials["access_token"])
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("x", images=images(media_server, 1)), r.job())
        assert info.value.message == "Token expired. Reconnect your Instagram account."


# -- the fake is strict -------------------------------------------------------------------------
async def test_fake_container_rules(media_server: MediaServer) -> None:
    async with Fake() as fake:
        path = f"/v25.0/{UID}/media"
        video = media_server.at("video.mp4")
        _, body = await raw(fake, "POST", path, caption="text only")
        assert body["error"]["message"] == "(#100) The parameter image_url is required"
        _, body = await raw(fake, "POST", path, media_type="VIDEO", video_url=video)
        assert body["error"]["error_subcode"] == 2207023  # single videos are REELS
        _, body = await raw(fake, "POST", path, media_type="REELS", video_url=video, alt_text="a")
        assert "alt_text" in body["error"]["message"]
        _, body = await raw(
            fake,
            "POST",
            path,
            image_url=media_server.at("image.jpg"),
            is_carousel_item="true",
            caption="c",
        )
        assert "caption" in body["error"]["message"]
        _, body = await raw(
            fake, "POST", path, image_url=media_server.at("image.jpg"), caption="a" * 2201
        )
        assert body["error"]["error_subcode"] == 2207010
        _, body = await raw(fake, "POST", path, image_url=media_server.at("image.png"))
        assert body["error"]["error_subcode"] == 2207005
        code, body = await raw(
            fake, "POST", path, bearer=True, image_url=media_server.at("image.jpg")
        )
        assert code == 200 and body["id"]  # a Bearer header works as well as the query token
        code, body = await raw(
            fake, "GET", f"/v25.0/{UID}/content_publishing_limit", fields="quota_usage,config"
        )
        assert body == {
            "data": [{"quota_usage": 0, "config": {"quota_total": 50, "quota_duration": 86400}}]
        }
        assert fake.posts == []
