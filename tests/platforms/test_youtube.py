"""YouTube adapter against its fake: resumable upload, resume, metadata rules, quota, tokens."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from octopost.platforms.base import Draft, ImageRef, Published, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.youtube import YoutubeAdapter
from octopost.platforms.youtube.api import until_midnight_pacific
from octopost.platforms.youtube.text import video_title
from tests.fakes.media import JPEG, MP4, MediaServer
from tests.fakes.youtube import Fake
from tests.platforms.harness import Rig, rig

INSERT = "/upload/youtube/v3/videos"
SEED_AUTH = "Token expired. Reconnect your YouTube account."
TEXT = "Octopost demo\nMade with <Octopost> & friends #octo"


@asynccontextmanager
async def youtube(
    settings: dict[str, Any] | None = None, **attrs: Any
) -> AsyncIterator[tuple[Fake, Rig]]:
    async with Fake() as fake, rig("youtube", fake) as r:
        for name, value in attrs.items():
            setattr(fake, name, value)
        r.account.settings = dict(settings or {})
        yield fake, r  # type: ignore[misc]


def video(media: MediaServer, text: str = TEXT, thumbnail: str | None = None) -> Draft:
    thumb = media.at(thumbnail) if thumbnail else None
    return Draft(text, video=VideoRef(media.at("video.mp4"), thumbnail_url=thumb))


def session_puts(fake: Fake) -> list[str]:
    return [r.headers.get("Content-Range", "") for r in fake.calls("PUT", INSERT)]


# -- the upload ------------------------------------------------------------------


async def test_resumable_upload_end_to_end(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        job = r.job()
        result = await r.adapter.publish(video(media_server), job)

        (init,) = fake.calls("POST", INSERT)
        assert init.query["uploadType"] == "resumable" and init.query["part"] == "snippet,status"
        assert "notifySubscribers" not in init.query
        assert init.headers["X-Upload-Content-Length"] == str(len(MP4))
        assert init.headers["X-Upload-Content-Type"] == "video/mp4"
        meta = json.loads(init.body)
        assert meta["snippet"] == {
            "title": "Octopost demo",
            "description": "Octopost demo\nMade with \u2039Octopost\u203a & friends #octo",
            "categoryId": "22",
        }
        assert meta["status"] == {"privacyStatus": "public", "selfDeclaredMadeForKids": False}
        assert session_puts(fake) == [f"bytes 0-{len(MP4) - 1}/{len(MP4)}"]

        (post,) = fake.posts
        assert post["video_sha256"] == hashlib.sha256(MP4).hexdigest()
        assert result == Published(post["id"], f"https://www.youtube.com/watch?v={post['id']}")
        assert job.state["youtube_video_id"] == post["id"]
        assert job.state["youtube_session"].endswith(f"upload_id={next(iter(fake.sessions))}")


async def test_the_post_language_is_the_default_language(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        base = video(media_server)
        await r.adapter.publish(Draft(base.content, video=base.video, language="pt-BR"), r.job())
        meta = json.loads(fake.calls("POST", INSERT)[0].body)
        # the title's and description's language; what the video says aloud is not known
        assert meta["snippet"]["defaultLanguage"] == "pt-BR"
        assert "defaultAudioLanguage" not in meta["snippet"]


async def test_account_settings(media_server: MediaServer) -> None:
    settings = {
        "privacy": "unlisted",
        "category_id": "28",
        "notify_subscribers": False,
        "made_for_kids": True,
    }
    async with youtube(settings) as (fake, r):
        await r.adapter.publish(video(media_server), r.job())
        (init,) = fake.calls("POST", INSERT)
        assert init.query["notifySubscribers"] == "false"
        meta = json.loads(init.body)
        assert meta["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": True}
        assert meta["snippet"]["categoryId"] == "28"
        assert fake.posts[0]["privacy"] == "unlisted"
    for bad in ({"privacy": "hidden"}, {"privacy_status": "public"}):
        async with youtube(bad) as (_, r):
            with pytest.raises(RejectedError, match="Invalid YouTube account settings"):
                await r.adapter.verify()


@pytest.mark.parametrize("cut", [100_000, 0])
async def test_interrupted_upload_is_resumed(media_server: MediaServer, cut: int) -> None:
    async with youtube(cut_next_upload_after=cut) as (fake, r):
        # the dropped PUT goes to the publisher; its next attempt resumes the session
        result, failures = await r.publish_retrying(video(media_server), r.job())
        assert [type(f) for f in failures] == [UnavailableError]
        total = len(MP4)
        assert session_puts(fake) == [
            f"bytes 0-{total - 1}/{total}",  # cut after `cut` bytes, connection dropped
            f"bytes */{total}",  # where does the session stand? 308 (+ Range when cut > 0)
            f"bytes {cut}-{total - 1}/{total}",
        ]
        assert len(fake.calls("POST", INSERT)) == 1
        (post,) = fake.posts
        assert post["video_sha256"] == hashlib.sha256(MP4).hexdigest()
        assert result.post_id == post["id"]


async def test_refused_overlap_is_resumed_where_the_session_stands(
    media_server: MediaServer,
) -> None:
    async with youtube(overlap_next_put=70_000) as (fake, r):
        await r.adapter.publish(video(media_server), r.job())
        total = len(MP4)
        assert session_puts(fake) == [
            f"bytes 0-{total - 1}/{total}",
            f"bytes */{total}",
            f"bytes 70000-{total - 1}/{total}",
        ]
        assert fake.posts[0]["video_sha256"] == hashlib.sha256(MP4).hexdigest()


async def test_recover_resumes_an_unfinished_upload(media_server: MediaServer) -> None:
    # the connection drops after 50,000 bytes, then the session answers 503 for a while
    async with youtube(cut_next_upload_after=50_000, fail_queries=10) as (fake, r):
        draft, job = video(media_server), r.job()
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        assert fake.posts == [] and job.state["youtube_session"]
        fake.fail_queries = 0
        found = await r.new_adapter().recover(draft, r.job(attempt=2, state=dict(job.state)))
        assert found is not None
        assert session_puts(fake)[-1] == f"bytes 50000-{len(MP4) - 1}/{len(MP4)}"
        assert len(fake.posts) == 1 and len(fake.calls("POST", INSERT)) == 1
        assert fake.posts[0]["video_sha256"] == hashlib.sha256(MP4).hexdigest()


# -- title and description -----------------------------------------------------------


def test_title_is_the_first_line() -> None:
    assert video_title("\n  First   line here \nsecond line") == "First line here"
    assert video_title("a <b> c") == "a \u2039b\u203a c"
    exact = "x" * 100
    assert video_title(exact) == exact
    long = " ".join(["word"] * 40)  # 199 characters
    title = video_title(long)
    assert len(title) <= 100 and title.endswith("word\u2026")
    assert video_title("y" * 150) == "y" * 99 + "\u2026"
    assert video_title("   \n\n") == ""


def test_check_reports_what_would_be_lost() -> None:
    limits = YoutubeAdapter.limits
    ref = VideoRef("https://example.org/v.mp4")
    assert YoutubeAdapter.check(Draft("é" * 2500, video=ref), limits) == []  # 5,000 bytes
    over = YoutubeAdapter.check(Draft("é" * 2501, video=ref), limits)
    assert len(over) == 1 and "5002 bytes" in over[0] and "5000" in over[0]
    assert YoutubeAdapter.measure("<>") == 6  # sent as ‹› (3 bytes each)
    assert YoutubeAdapter.measure("a") == 1
    assert any("title" in p for p in YoutubeAdapter.check(Draft(" \n", video=ref), limits))
    assert YoutubeAdapter.check(Draft("text only"), limits) == ["YouTube needs a video."]
    with_image = Draft("x", images=(ImageRef("https://example.org/i.jpg"),), video=ref)
    assert "YouTube does not accept images." in YoutubeAdapter.check(with_image, limits)


async def test_long_first_line_is_shortened_for_the_title(media_server: MediaServer) -> None:
    first = "An announcement whose first line runs on and on " * 4
    async with youtube() as (fake, r):
        await r.adapter.publish(video(media_server, first + "\nmore"), r.job())
        (post,) = fake.posts
        assert len(post["title"]) <= 100 and post["title"].endswith("\u2026")
        assert post["text"] == first + "\nmore"  # the description keeps everything


# -- quota and limits --------------------------------------------------------------


async def test_quota_exceeded_waits_for_midnight_pacific(media_server: MediaServer) -> None:
    async with youtube(quota_used=9_000) as (fake, r):
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert "quotaExceeded" in info.value.message and "midnight Pacific" in info.value.message
        assert "<a" not in info.value.message
        expected = until_midnight_pacific(time.time())
        assert info.value.retry_after is not None and abs(info.value.retry_after - expected) < 5
        assert fake.sessions == {} and fake.posts == []


def test_midnight_pacific() -> None:
    winter = datetime(2026, 1, 15, 8, 0, tzinfo=UTC).timestamp()  # 00:00 PST
    assert until_midnight_pacific(winter) == 24 * 3600
    summer = datetime(2026, 7, 15, 6, 30, tzinfo=UTC).timestamp()  # 23:30 PDT
    assert until_midnight_pacific(summer) == 1800


async def test_channel_upload_limit(media_server: MediaServer) -> None:
    async with youtube(upload_limit_reached=True) as (fake, r):
        with pytest.raises(RateLimitedError, match="uploadLimitExceeded") as info:
            await r.adapter.publish(video(media_server), r.job())
        assert info.value.retry_after == 24 * 3600
        assert fake.posts == []


async def test_metadata_rejection_names_the_reason(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        fake.fail_next("reject", reason="invalidCategoryId")
        with pytest.raises(RejectedError, match="invalidCategoryId"):
            await r.adapter.publish(video(media_server), r.job())


# -- tokens ---------------------------------------------------------------------------


async def test_expired_token_is_refreshed_before_use(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        old = dict(r.account.credentials)
        r.account.credentials["expires_at"] = time.time() - 1
        await r.adapter.publish(video(media_server), r.job())
        assert fake.refresh_count == 1
        (saved,) = r.saved
        assert saved["access_token"] == fake.access_token != old["access_token"]
        assert saved["refresh_token"] == old["refresh_token"]  # Google keeps it
        assert 3000 < saved["expires_at"] - time.time() <= 3600
        assert (
            fake.calls("POST", INSERT)[0].headers["Authorization"]
            == f"Bearer {saved['access_token']}"
        )


async def test_rejected_token_is_refreshed_once(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        fake.expire_access_tokens()  # the credentials still look valid
        draft = video(media_server)
        await asyncio.gather(
            r.adapter.publish(draft, r.job("a")), r.new_adapter().publish(draft, r.job("b"))
        )
        assert fake.refresh_count == 1 and len(fake.posts) == 2


async def test_revoked_refresh_token_means_reconnect(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        fake.refresh_revoked = True
        fake.expire_access_tokens()
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(video(media_server), r.job())
        assert info.value.message == SEED_AUTH
        assert fake.posts == []


async def test_only_a_refresh_token_is_enough() -> None:
    async with Fake() as fake, rig("youtube", fake, verify=False) as r:
        del r.account.credentials["access_token"], r.account.credentials["expires_at"]
        identity = await r.adapter.verify()
        assert identity.username == "octochannel"
        assert identity.display_name == "Octo Channel"
        assert identity.remote_id == fake.channel["id"]  # type: ignore[index]
        assert identity.profile_url == "https://www.youtube.com/@octochannel"
        assert fake.refresh_count == 1


async def test_verify_reads_the_channel_picked_when_connecting() -> None:
    async with Fake() as fake, rig("youtube", fake, verify=False) as r:
        r.account.credentials["channel_id"] = fake.channel["id"]  # type: ignore[index]
        assert (await r.adapter.verify()).remote_id == fake.channel["id"]  # type: ignore[index]
        r.account.credentials["channel_id"] = "UCgoneChannel000000000"
        with pytest.raises(RejectedError, match="UCgoneChannel000000000"):
            await r.adapter.verify()


async def test_verify_without_a_channel() -> None:
    async with Fake() as fake, rig("youtube", fake, verify=False) as r:
        fake.channel = None
        with pytest.raises(RejectedError, match="no YouTube channel"):
            await r.adapter.verify()


# -- thumbnail ------------------------------------------------------------------------


async def test_thumbnail_is_set(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        result = await r.adapter.publish(video(media_server, thumbnail="thumb.jpg"), r.job())
        assert fake.thumbnails[result.post_id] == JPEG


async def test_thumbnail_failure_does_not_fail_the_publish(
    media_server: MediaServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with youtube(thumbnails_forbidden=True) as (fake, r):
        with caplog.at_level(logging.WARNING, "octopost.platforms.youtube"):
            result = await r.adapter.publish(video(media_server, thumbnail="thumb.jpg"), r.job())
        assert result.post_id == fake.posts[0]["id"] and fake.thumbnails == {}
        assert "thumbnail was not set" in caplog.text


# -- lost answers -------------------------------------------------------------------------


async def test_lost_final_answer_is_read_from_the_session(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        fake.fail_next("drop")  # the last byte creates the video, then the answer is lost
        result, _ = await r.publish_retrying(video(media_server), r.job())
        (post,) = fake.posts
        assert result.post_id == post["id"]


async def test_recover_finds_the_finished_video(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        draft, job = video(media_server), r.job()
        first = await r.adapter.publish(draft, job)
        state = {
            k: v for k, v in job.state.items() if k != "youtube_video_id"
        }  # crash before that checkpoint
        found = await r.new_adapter().recover(draft, r.job(attempt=2, state=state))
        assert found == first
        assert len(fake.posts) == 1 and len(fake.calls("POST", INSERT)) == 1
        assert session_puts(fake)[-1] == f"bytes */{len(MP4)}"


async def test_recover_without_a_session_is_safe_to_resend(media_server: MediaServer) -> None:
    async with youtube() as (_, r):
        assert await r.adapter.recover(video(media_server), r.job()) is None


async def test_recover_during_an_outage_hands_over_to_publish(media_server: MediaServer) -> None:
    async with youtube(cut_next_upload_after=50_000, fail_queries=10) as (fake, r):
        draft, job = video(media_server), r.job()
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        retry = r.job(attempt=2, state=dict(job.state))
        assert await r.new_adapter().recover(draft, retry) is None  # the session answers 503
        fake.fail_queries = 0
        result = await r.new_adapter().publish(draft, retry)  # the same session, resumed
        assert len(fake.calls("POST", INSERT)) == 1
        assert [p["id"] for p in fake.posts] == [result.post_id]


async def test_recover_with_an_unknown_session_is_unknown(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        state = {
            "youtube_session": f"{fake.url}{INSERT}?uploadType=resumable&upload_id=gone",
            "youtube_size": len(MP4),
        }
        with pytest.raises(OutcomeUnknownError, match="Check your YouTube channel"):
            await r.adapter.recover(video(media_server), r.job(state=state))


async def test_retry_after_success_does_not_upload_again(media_server: MediaServer) -> None:
    async with youtube() as (fake, r):
        draft, job = video(media_server), r.job()
        first = await r.adapter.publish(draft, job)
        before = len(fake.requests)
        again = await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert again == first and len(fake.requests) == before


# -- the fake is strict ---------------------------------------------------------------------


async def test_fake_refuses_malformed_requests() -> None:
    async with Fake() as fake, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {fake.access_token}"}
        url = f"{fake.url}{INSERT}?uploadType=resumable&part=snippet,status"
        meta = {
            "snippet": {"title": "ok", "description": "d"},
            "status": {"privacyStatus": "public"},
        }
        upload = {"X-Upload-Content-Length": "1000", "X-Upload-Content-Type": "video/mp4"}

        async def reason(resp: aiohttp.ClientResponse) -> str:
            return str((await resp.json())["error"]["errors"][0]["reason"])

        async with http.post(url, json=meta, headers=upload) as resp:
            assert resp.status == 401 and await reason(resp) == "authError"
        async with http.post(url, json=meta, headers=auth) as resp:
            assert resp.status == 400  # no X-Upload-Content-Length
        bad_title = {**meta, "snippet": {"title": "<b>bold</b>"}}
        async with http.post(url, json=bad_title, headers={**auth, **upload}) as resp:
            assert resp.status == 400 and await reason(resp) == "invalidTitle"
        bad_language = {**meta, "snippet": {"title": "t", "defaultLanguage": "en_US"}}
        async with http.post(url, json=bad_language, headers={**auth, **upload}) as resp:
            assert resp.status == 400 and await reason(resp) == "invalidVideoMetadata"
        long_text = {**meta, "snippet": {"title": "t", "description": "é" * 2501}}
        async with http.post(url, json=long_text, headers={**auth, **upload}) as resp:
            assert resp.status == 400 and await reason(resp) == "invalidDescription"
        async with http.post(url, json=meta, headers={**auth, **upload}) as resp:
            assert resp.status == 200
            session = resp.headers["Location"]
        async with http.put(
            session, data=bytes(1000), headers={**auth, "Content-Range": "bytes 0-999/2000"}
        ) as resp:
            assert resp.status == 400  # total differs from X-Upload-Content-Length
        async with http.put(
            session, data=bytes(500), headers={**auth, "Content-Range": "bytes 0-499/1000"}
        ) as resp:
            assert resp.status == 400  # a non-final piece must be a 256 KiB multiple
        async with http.put(
            session, data=b"", headers={**auth, "Content-Range": "bytes */1000"}
        ) as resp:
            assert resp.status == 308 and "Range" not in resp.headers
        async with http.put(
            session + "x", data=b"", headers={**auth, "Content-Range": "bytes */1000"}
        ) as resp:
            assert resp.status == 404
        fake.refresh_revoked = True
        form = {
            "client_id": fake.CLIENT_ID,
            "client_secret": fake.CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": fake.refresh_token,
        }
        async with http.post(f"{fake.url}/token", data=form) as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"
