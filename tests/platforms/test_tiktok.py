"""TikTok adapter against its fake: every flow end to end, errors, tokens, lost answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from octopost.platforms.base import Draft, ImageRef, Published, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.tiktok import TiktokAdapter
from octopost.platforms.tiktok.media import chunk_plan, chunk_ranges
from tests.fakes.media import MP4, MediaServer
from tests.fakes.tiktok import PRIVATE_OPTIONS, Fake
from tests.platforms.harness import Rig, rig

INIT = "/v2/post/publish/video/init/"
PHOTO_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CREATOR = "/v2/post/publish/creator_info/query/"
SEED_AUTH = "Token expired. Reconnect your TikTok account."
BIG = 25_000_123


@asynccontextmanager
async def tiktok(
    settings: dict[str, Any] | None = None, **attrs: Any
) -> AsyncIterator[tuple[Fake, Rig]]:
    async with Fake() as fake, rig("tiktok", fake) as r:
        for name, value in attrs.items():
            setattr(fake, name, value)
        r.account.settings = dict(settings or {})
        yield fake, r  # type: ignore[misc]


def video(media: MediaServer, name: str = "video.mp4", text: str = "Launch day #octo 🚀") -> Draft:
    return Draft(text, video=VideoRef(media.at(name)))


def bodies(fake: Fake, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in fake.calls("POST", path)]


def mp4_with_duration(seconds: int) -> bytes:
    mvhd_payload = struct.pack(">B3xIIII", 0, 0, 0, 1000, seconds * 1000) + bytes(80)
    mvhd = struct.pack(">I", 8 + len(mvhd_payload)) + b"mvhd" + mvhd_payload
    moov = struct.pack(">I", 8 + len(mvhd)) + b"moov" + mvhd
    ftyp = struct.pack(">I", 16) + b"ftypisom" + b"\x00\x00\x02\x00"
    return ftyp + struct.pack(">I", 8 + 1000) + b"mdat" + bytes(1000) + moov


def serve(media: MediaServer, name: str, body: bytes, ctype: str = "video/mp4") -> None:
    media.FILES = {**media.FILES, name: (ctype, body)}  # type: ignore[misc]


# -- video: FILE_UPLOAD -------------------------------------------------------


async def test_file_upload_small_video_end_to_end(media_server: MediaServer) -> None:
    async with tiktok(processing_polls=2) as (fake, r):
        job = r.job()
        result = await r.adapter.publish(video(media_server), job)

        paths = [req.path for req in fake.requests]
        assert paths.index(CREATOR) < paths.index(INIT)
        (init,) = bodies(fake, INIT)
        assert init["source_info"] == {
            "source": "FILE_UPLOAD",
            "video_size": len(MP4),
            "chunk_size": len(MP4),
            "total_chunk_count": 1,
        }
        info = init["post_info"]
        assert info["title"] == "Launch day #octo 🚀"
        assert info["privacy_level"] == "SELF_ONLY"  # default: the most private allowed
        assert info["disable_stitch"] is True  # the creator disabled stitches
        assert info["disable_comment"] is False and info["disable_duet"] is False
        (put,) = fake.calls("PUT", "/upload/video/")
        assert put.headers["Content-Range"] == f"bytes 0-{len(MP4) - 1}/{len(MP4)}"
        assert put.headers["Content-Type"] == "video/mp4"
        assert "Authorization" not in put.headers
        assert len(fake.calls("POST", STATUS)) == 3  # two processing polls, then complete

        (post,) = fake.posts
        assert post["video_sha256"] == hashlib.sha256(MP4).hexdigest()
        assert post["privacy_level"] == "SELF_ONLY"
        # SELF_ONLY posts get no public id: the publish_id and the profile URL stand in
        assert result == Published(post["publish_id"], "https://www.tiktok.com/@octo.demo")
        assert job.state["tiktok_publish_id"] == post["publish_id"]
        assert media_server.hits["video.mp4"] == 1


def test_chunk_plan_follows_the_media_transfer_rules() -> None:
    for size in (1, 4_999_999, 5_000_000, 9_999_999, 10_000_000, 10_000_001, 50_000_123, 4 * 10**9):
        chunk, count = chunk_plan(size)
        assert Fake.chunk_problem(size, chunk, count) is None, size
        ranges = chunk_ranges(size, chunk)
        assert len(ranges) == count and ranges[0][0] == 0 and ranges[-1][1] == size - 1
        assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert chunk_plan(50_000_123) == (10_000_000, 5)  # TikTok's own example
    assert chunk_ranges(50_000_123, 10_000_000)[-1] == (40_000_000, 50_000_122)


async def test_file_upload_in_chunks(media_server: MediaServer) -> None:
    big = MP4 + bytes(BIG - len(MP4))
    serve(media_server, "big.mp4", big)
    async with tiktok() as (fake, r):
        await r.adapter.publish(video(media_server, "big.mp4"), r.job())
        (init,) = bodies(fake, INIT)
        assert init["source_info"]["chunk_size"] == 10_000_000
        assert init["source_info"]["total_chunk_count"] == 2
        ranges = [p.headers["Content-Range"] for p in fake.calls("PUT", "/upload/video/")]
        assert ranges == [f"bytes 0-9999999/{BIG}", f"bytes 10000000-{BIG - 1}/{BIG}"]
        assert fake.posts[0]["video_sha256"] == hashlib.sha256(big).hexdigest()


async def test_interrupted_upload_resumes_without_a_second_init(media_server: MediaServer) -> None:
    serve(media_server, "big.mp4", MP4 + bytes(BIG - len(MP4)))
    async with tiktok(fail_chunk=2) as (fake, r):
        draft = video(media_server, "big.mp4")
        job = r.job()
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        assert job.state["tiktok_publish_id"] and fake.posts == []
        # the publisher's retry: a new adapter, the checkpointed state
        retry = r.job(attempt=2, state=dict(job.state))
        result = await r.new_adapter().publish(draft, retry)
        assert len(fake.calls("POST", INIT)) == 1
        ranges = [p.headers["Content-Range"] for p in fake.calls("PUT", "/upload/video/")]
        assert ranges == [
            f"bytes 0-9999999/{BIG}",
            f"bytes 10000000-{BIG - 1}/{BIG}",  # answered 503
            f"bytes 10000000-{BIG - 1}/{BIG}",  # resumed from status.uploaded_bytes
        ]
        assert len(fake.posts) == 1 and result.post_id == fake.posts[0]["publish_id"]


async def test_video_longer_than_the_creator_may_post(media_server: MediaServer) -> None:
    serve(media_server, "long.mp4", mp4_with_duration(400))
    async with tiktok(max_duration=300) as (fake, r):
        with pytest.raises(MediaError, match="400 s long.*at most 300 s"):
            await r.adapter.publish(video(media_server, "long.mp4"), r.job())
        assert fake.calls("POST", INIT) == []
    serve(media_server, "short.mp4", mp4_with_duration(20))
    async with tiktok(max_duration=300) as (fake, r):
        await r.adapter.publish(video(media_server, "short.mp4"), r.job())
        assert len(fake.posts) == 1


# -- video: PULL_FROM_URL -----------------------------------------------------


async def test_pull_from_url_public_post(media_server: MediaServer) -> None:
    settings = {"source": "PULL_FROM_URL", "privacy_level": "PUBLIC_TO_EVERYONE"}
    async with tiktok(settings, processing_polls=1) as (fake, r):
        result = await r.adapter.publish(video(media_server), r.job())
        (init,) = bodies(fake, INIT)
        assert init["source_info"] == {
            "source": "PULL_FROM_URL",
            "video_url": media_server.at("video.mp4"),
        }
        assert init["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
        assert fake.calls("PUT", "/upload/video/") == []
        assert media_server.hits["video.mp4"] == 1  # downloaded by TikTok, not by Octopost
        (post,) = fake.posts
        assert result == Published(
            post["id"], f"https://www.tiktok.com/@octo.demo/video/{post['id']}"
        )


async def test_pull_from_an_unverified_domain(media_server: MediaServer) -> None:
    async with tiktok(
        {"source": "PULL_FROM_URL"}, verified_prefixes=["https://media.example.org/"]
    ) as (fake, r):
        with pytest.raises(MediaError, match="not verified.*FILE_UPLOAD"):
            await r.adapter.publish(video(media_server), r.job())
        assert fake.posts == []


# -- photos ------------------------------------------------------------------


async def test_photos_need_the_pull_source(media_server: MediaServer) -> None:
    draft = Draft(
        "Two photos",
        images=(
            ImageRef(media_server.at("image.jpg"), "red"),
            ImageRef(media_server.at("image2.jpg")),
        ),
    )
    async with tiktok() as (fake, r):
        limits = await r.adapter.current_limits()
        assert limits.max_images == 0 and limits.requires_video
        assert TiktokAdapter.check(draft, limits)
        with pytest.raises(RejectedError, match="PULL_FROM_URL"):
            await r.adapter.publish(draft, r.job())
        assert fake.calls("POST", PHOTO_INIT) == []


def test_photo_descriptions_hold_4000_and_video_captions_2200() -> None:
    pull, upload = TiktokAdapter.pull_limits, TiktokAdapter.limits
    photos = (ImageRef("https://e.example/a.jpg"), ImageRef("https://e.example/b.jpg"))
    video = VideoRef("https://e.example/v.mp4")
    assert TiktokAdapter.check(Draft("a" * 4000, images=photos), pull) == []
    assert TiktokAdapter.check(Draft("a" * 4001, images=photos), pull) == [
        "Content is 4001 characters as TikTok counts them; the limit is 4000."
    ]
    for limits in (pull, upload):  # a video caption is 2,200 whichever the source
        assert TiktokAdapter.check(Draft("a" * 2200, video=video), limits) == []
        assert TiktokAdapter.check(Draft("a" * 2201, video=video), limits) == [
            "Content is 2201 characters as TikTok counts them; the limit is 2200."
        ]


async def test_a_long_photo_description_is_published(media_server: MediaServer) -> None:
    text = "Photos " + "x" * 3500  # over a video caption's 2,200, within a description's 4,000
    draft = Draft(text, images=(ImageRef(media_server.at("image.jpg")),))
    settings = {"source": "PULL_FROM_URL", "privacy_level": "PUBLIC_TO_EVERYONE"}
    async with tiktok(settings) as (fake, r):
        assert TiktokAdapter.check(draft, await r.adapter.current_limits()) == []
        await r.adapter.publish(draft, r.job())
        (body,) = bodies(fake, PHOTO_INIT)
        assert body["post_info"]["description"] == text


async def test_photo_post_from_urls(media_server: MediaServer) -> None:
    draft = Draft(
        "Two photos #octo",
        images=(
            ImageRef(media_server.at("image.jpg"), "red"),
            ImageRef(media_server.at("image2.jpg")),
        ),
    )
    settings = {"source": "PULL_FROM_URL", "privacy_level": "PUBLIC_TO_EVERYONE"}
    async with tiktok(settings) as (fake, r):
        limits = await r.adapter.current_limits()
        assert limits.max_images == 35 and limits.needs_public_media
        assert TiktokAdapter.check(draft, limits) == []
        result = await r.adapter.publish(draft, r.job())
        (body,) = bodies(fake, PHOTO_INIT)
        assert body["media_type"] == "PHOTO" and body["post_mode"] == "DIRECT_POST"
        assert body["post_info"]["description"] == "Two photos #octo"
        assert body["source_info"] == {
            "source": "PULL_FROM_URL",
            "photo_cover_index": 0,
            "photo_images": [media_server.at("image.jpg"), media_server.at("image2.jpg")],
        }
        (post,) = fake.posts
        assert post["photo_count"] == 2
        assert result.post_url == f"https://www.tiktok.com/@octo.demo/photo/{post['id']}"


# -- privacy and interactions -------------------------------------------------


async def test_private_account_defaults_to_the_most_private_level(
    media_server: MediaServer,
) -> None:
    async with tiktok(privacy_options=["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS"]) as (
        fake,
        r,
    ):
        await r.adapter.publish(video(media_server), r.job())
        assert bodies(fake, INIT)[0]["post_info"]["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"


async def test_configured_level_must_be_allowed(media_server: MediaServer) -> None:
    async with tiktok({"privacy_level": "PUBLIC_TO_EVERYONE"}, privacy_options=PRIVATE_OPTIONS) as (
        fake,
        r,
    ):
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert "FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in info.value.message
        assert fake.calls("POST", INIT) == []


async def test_bad_settings_are_refused_at_connect() -> None:
    for settings in (
        {"privacy_level": "EVERYONE"},
        {"source": "FTP"},
        {"privcy_level": "SELF_ONLY"},
    ):
        async with tiktok(settings) as (_, r):
            with pytest.raises(RejectedError, match="Invalid TikTok account settings"):
                await r.adapter.verify()


async def test_creator_disabled_interactions_are_honoured(media_server: MediaServer) -> None:
    async with tiktok({"disable_duet": True}, comment_disabled=True, stitch_disabled=False) as (
        fake,
        r,
    ):
        await r.adapter.publish(video(media_server), r.job())
        info = bodies(fake, INIT)[0]["post_info"]
        assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (
            True,
            True,
            False,
        )


# -- processing outcomes ------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("duration_check_failed", MediaError),
        ("file_format_check_failed", MediaError),
        ("spam_risk_text", RejectedError),
        ("auth_removed", AuthExpiredError),
    ],
)
async def test_processing_failure(
    media_server: MediaServer, reason: str, error: type[Exception]
) -> None:
    async with tiktok(fail_reason=reason) as (fake, r):
        with pytest.raises(error) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert not getattr(info.value, "retryable", True)
        assert fake.posts == []
        if error is RejectedError:
            assert not isinstance(info.value, MediaError) and reason in str(info.value)


async def test_internal_failure_is_retried_with_a_new_publish(media_server: MediaServer) -> None:
    async with tiktok(fail_reason="internal") as (fake, r):
        draft, job = video(media_server), r.job()
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        # FAILED means no post: the retry may (and does) start a new publish
        await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(fake.calls("POST", INIT)) == 2
        assert len(fake.posts) == 1


# -- errors in the envelope ------------------------------------------------------


async def test_creator_info_spam_error_with_http_200(media_server: MediaServer) -> None:
    async with tiktok(creator_error="spam_risk_too_many_posts") as (fake, r):
        with pytest.raises(RejectedError, match="spam_risk_too_many_posts"):
            await r.adapter.publish(video(media_server), r.job())
        assert fake.calls("POST", INIT) == []


async def test_init_rejection_with_http_200(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        fake.fail_next("reject", status=200, code="spam_risk_user_banned_from_posting")
        with pytest.raises(RejectedError, match="banned from making new posts"):
            await r.adapter.publish(video(media_server), r.job())
        assert fake.posts == []


async def test_token_invalid_with_http_200_refreshes_once(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        fake.fail_next("auth", status=200)
        await r.adapter.publish(video(media_server), r.job())
        assert fake.refresh_count == 1 and len(fake.posts) == 1


async def test_privacy_mismatch_and_scope_errors(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        fake.fail_next("reject", code="privacy_level_option_mismatch")
        with pytest.raises(RejectedError, match="privacy_level_option_mismatch"):
            await r.adapter.publish(video(media_server), r.job())
        fake.fail_next("reject", status=401, code="scope_not_authorized")
        with pytest.raises(AuthExpiredError, match="video.publish"):
            await r.adapter.publish(video(media_server), r.job())
        assert fake.refresh_count == 0  # a refresh cannot add a scope


async def test_rate_limit_without_a_reset_header_waits_the_window(
    media_server: MediaServer,
) -> None:
    async with tiktok() as (fake, r):
        fake.rate_limits["creator_info"] = 0
        fake.send_retry_after = False
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert info.value.retry_after == 60.0  # TikTok's one-minute sliding window


# -- tokens ----------------------------------------------------------------------


async def test_expired_token_is_refreshed_and_stored_before_use(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        old = dict(r.account.credentials)
        r.account.credentials["expires_at"] = time.time() - 5
        await r.adapter.publish(video(media_server), r.job())
        assert fake.refresh_count == 1
        (saved,) = r.saved
        assert saved["refresh_token"] == fake.refresh_token != old["refresh_token"]
        assert saved["access_token"] == fake.access_token
        assert saved["expires_at"] > time.time() + 3600
        assert saved["client_key"] == old["client_key"]
        init = fake.calls("POST", INIT)[0]
        assert init.headers["Authorization"] == f"Bearer {saved['access_token']}"


@pytest.mark.parametrize("how", ["by expires_at", "by a 401"])
async def test_two_concurrent_publishes_refresh_once(media_server: MediaServer, how: str) -> None:
    async with tiktok() as (fake, r):
        if how == "by expires_at":
            r.account.credentials["expires_at"] = time.time() - 5
        else:
            fake.expire_access_tokens()
        draft = video(media_server)
        results = await asyncio.gather(
            r.adapter.publish(draft, r.job("post_a")),
            r.new_adapter().publish(draft, r.job("post_b")),
        )
        assert fake.refresh_count == 1  # the rotated refresh token was used once
        assert len(r.saved) == 1
        assert len(fake.posts) == 2 and results[0].post_id != results[1].post_id


async def test_refused_refresh_is_auth_expired(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        stale = r.account.credentials["refresh_token"]
        await r.adapter.api.keeper.refresh(dict(r.account.credentials))  # rotates
        r.account.credentials = {**r.account.credentials, "refresh_token": stale, "expires_at": 0}
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert info.value.message == SEED_AUTH
        assert fake.posts == []


# -- lost answers -----------------------------------------------------------------


async def test_lost_pull_init_answer_is_an_unknown_outcome(media_server: MediaServer) -> None:
    async with tiktok({"source": "PULL_FROM_URL"}) as (fake, r):
        draft, job = video(media_server), r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(draft, job)
        with pytest.raises(OutcomeUnknownError, match="Check your TikTok profile"):
            await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(fake.posts) == 1 and len(fake.calls("POST", INIT)) == 1


async def test_refused_init_leaves_nothing_to_recover(media_server: MediaServer) -> None:
    async with tiktok({"source": "PULL_FROM_URL"}) as (fake, r):
        draft, job = video(media_server), r.job()
        fake.fail_next("rate_limit")
        with pytest.raises(RateLimitedError):
            await r.adapter.publish(draft, job)
        # a crash before the next attempt's init: recover knows nothing was created
        assert await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state))) is None


async def test_lost_file_upload_init_answer_is_safe_to_resend(media_server: MediaServer) -> None:
    async with tiktok() as (fake, r):
        draft, job = video(media_server), r.job()
        fake.fail_next("drop", at="init")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(draft, job)
        assert fake.posts == []  # TikTok holds an upload nobody can finish
        retry = r.job(attempt=2, state=dict(job.state))
        assert await r.new_adapter().recover(draft, retry) is None
        await r.new_adapter().publish(draft, retry)
        assert len(fake.posts) == 1


async def test_lost_last_chunk_answer_is_checked_against_the_status(
    media_server: MediaServer,
) -> None:
    async with tiktok() as (fake, r):
        fake.fail_next("drop")  # the last chunk completes the upload, then the answer is lost
        result = await r.adapter.publish(video(media_server), r.job())
        assert len(fake.posts) == 1 and result.post_id == fake.posts[0]["publish_id"]
        assert len(fake.calls("POST", INIT)) == 1


async def test_recover_after_a_crash_polls_the_checkpointed_publish(
    media_server: MediaServer,
) -> None:
    async with tiktok(processing_polls=10**6) as (fake, r):
        fake.rate_limits["status"] = 10**6
        r.adapter.deps.settings.poll_timeout = 0.05  # type: ignore[attr-defined]
        draft, job = video(media_server), r.job()
        with pytest.raises(UnavailableError, match="did not finish"):
            await r.adapter.publish(draft, job)
        (pub,) = fake.publishes.values()
        pub["polls_left"] = 1
        found = await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state)))
        assert found is not None and found.post_id == pub["publish_id"]
        assert len(fake.calls("POST", INIT)) == 1 and len(fake.posts) == 1


async def test_recover_hands_a_failed_publish_back_to_publish(media_server: MediaServer) -> None:
    async with tiktok(fail_reason="duration_check_failed") as (fake, r):
        fake.fail_next("drop")  # the last chunk's answer is lost ...
        fake.processing_polls = 10**6
        fake.rate_limits["status"] = 10**6
        r.adapter.deps.settings.poll_timeout = 0.05  # type: ignore[attr-defined]
        draft, job = video(media_server), r.job()
        with pytest.raises(UnavailableError):  # ... and processing outlasts this attempt
            await r.adapter.publish(draft, job)
        (pub,) = fake.publishes.values()
        pub["polls_left"] = 0  # ... then ends FAILED
        retry = r.job(attempt=2, state=dict(job.state))
        assert await r.new_adapter().recover(draft, retry) is None
        with pytest.raises(MediaError, match="duration_check_failed"):
            await r.new_adapter().publish(draft, retry)
        assert len(fake.calls("POST", INIT)) == 1 and fake.posts == []


async def test_recover_with_nothing_sent_is_safe() -> None:
    async with tiktok() as (_, r):
        assert await r.adapter.recover(Draft("x"), r.job()) is None


# -- identity, length ----------------------------------------------------------


async def test_verify_reads_the_creator() -> None:
    async with Fake() as fake, rig("tiktok", fake, verify=False) as r:
        identity = await r.adapter.verify()
        assert identity.username == "octo.demo"
        assert identity.display_name == "Octo"
        assert identity.remote_id == fake.open_id
        assert identity.profile_url == "https://www.tiktok.com/@octo.demo"


def test_measure_counts_utf16_code_units() -> None:
    assert TiktokAdapter.measure("😀") == 2
    assert TiktokAdapter.measure("é") == 1
    assert TiktokAdapter.measure("a😀b") == 4
    limits = TiktokAdapter.limits
    video_ref = VideoRef("https://example.org/v.mp4")
    assert TiktokAdapter.check(Draft("😀" * 1100, video=video_ref), limits) == []
    assert TiktokAdapter.check(Draft("😀" * 1100 + "a", video=video_ref), limits)
    assert TiktokAdapter.check(Draft("no video"), limits) == ["TikTok needs a video."]


# -- the fake is strict ----------------------------------------------------------


async def test_fake_refuses_malformed_requests() -> None:
    async with Fake() as fake, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {fake.access_token}"}

        async def post(
            path: str, body: Any, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, Any]]:
            async with http.post(fake.url + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json()

        status, answer = await post(CREATOR, {})
        assert status == 401 and answer["error"]["code"] == "access_token_invalid"
        info = {"title": "t", "privacy_level": "SELF_ONLY"}
        bad_plan = {
            "source": "FILE_UPLOAD",
            "video_size": 20_000_000,
            "chunk_size": 10_000_000,
            "total_chunk_count": 3,
        }
        status, answer = await post(INIT, {"post_info": info, "source_info": bad_plan}, auth)
        assert status == 400 and answer["error"]["code"] == "invalid_params"
        public = {"title": "t", "privacy_level": "FRIENDS"}
        plan = {
            "source": "FILE_UPLOAD",
            "video_size": 1000,
            "chunk_size": 1000,
            "total_chunk_count": 1,
        }
        status, answer = await post(INIT, {"post_info": public, "source_info": plan}, auth)
        assert status == 403 and answer["error"]["code"] == "privacy_level_option_mismatch"
        status, answer = await post(
            INIT, {"post_info": {**info, "title": "😀" * 1101}, "source_info": plan}, auth
        )
        assert status == 400

        status, answer = await post(INIT, {"post_info": info, "source_info": plan}, auth)
        upload_url = answer["data"]["upload_url"]
        headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 10-999/1000"}
        async with http.put(upload_url, data=bytes(990), headers=headers) as resp:
            assert resp.status == 416
        headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-999/1000"}
        async with http.put(upload_url, data=bytes(500), headers=headers) as resp:
            assert resp.status == 400
        async with http.put(
            upload_url, data=bytes(1000), headers={**headers, "Content-Type": "image/png"}
        ) as resp:
            assert resp.status == 400
        async with http.put(upload_url, data=bytes(1000), headers=headers) as resp:
            assert resp.status == 201

        form = {
            "client_key": fake.CLIENT_KEY,
            "client_secret": fake.CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": fake.refresh_token,
        }
        async with http.post(fake.url + "/v2/oauth/token/", data=form) as resp:
            assert "access_token" in await resp.json()
        async with http.post(fake.url + "/v2/oauth/token/", data=form) as resp:  # reused
            assert (await resp.json())["error"] == "invalid_grant"
