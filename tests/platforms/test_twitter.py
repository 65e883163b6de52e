"""X adapter against the strict fake: auth of both kinds, media flows, errors, length rule.

Length vectors: tests/data/twitter-validate.yml and twitter-extract.yml (twitter-text
3.1.0), read at test time; tests/data/README.md says which config each section assumes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import oauthlib.oauth1
import pytest
import yaml
from aiohttp import web
from twitter_text import extract_urls, extract_urls_with_indices, parse_tweet

from octopost.platforms._http import Response
from octopost.platforms.base import Draft, ImageRef, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    DuplicateError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.twitter import TwitterAdapter
from octopost.platforms.twitter.api import classify, reason
from tests.fakes.media import JPEG, MP4, PNG, MediaServer
from tests.fakes.twitter import DUPLICATE, OAUTH1_PERMISSIONS, TOO_LONG, Fake
from tests.platforms.harness import rig

#: upstream vectors, copied with their provenance (tests/data/README.md)
CONFORMANCE = Path(__file__).resolve().parent.parent / "data"
EXPIRED = "Token expired. Reconnect your X account."


def _load(name: str) -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load((CONFORMANCE / name).read_text(encoding="utf-8"))["tests"]


def _config(version: int) -> dict[str, Any]:
    raw = json.loads((CONFORMANCE / f"twitter-config-v{version}.json").read_text())
    return {
        "version": raw["version"],
        "max_weighted_tweet_length": raw["maxWeightedTweetLength"],
        "scale": raw["scale"],
        "default_weight": raw["defaultWeight"],
        "transformed_url_length": raw["transformedURLLength"],
        "ranges": raw["ranges"],
        "emoji_parsing_enabled": raw.get("emojiParsingEnabled", False),
    }


VALIDATE = _load("twitter-validate.yml")
EXTRACT = _load("twitter-extract.yml")
#: section -> the config upstream's harness runs it with (conformance/README.md)
LENGTH_SECTIONS = {
    "WeightedTweetsCounterTest": 2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": 3,
    "UnicodeDirectionalMarkerCounterTest": 3,
}


def _cases(sections: dict[str, int]) -> list[Any]:
    return [
        pytest.param(version, case, id=f"{section}: {case['description']}")
        for section, version in sections.items()
        for case in VALIDATE[section]
    ]


# -- length -------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "case"), _cases(LENGTH_SECTIONS))
def test_library_matches_upstream_under_each_config(version: int, case: dict[str, Any]) -> None:
    """The library we build on gives every parseTweet field upstream asserts."""
    assert parse_tweet(case["text"], _config(version)).asdict() == case["expected"]


@pytest.mark.parametrize(
    ("version", "case"), _cases({k: v for k, v in LENGTH_SECTIONS.items() if v == 3})
)
def test_measure_is_the_v3_rule(version: int, case: dict[str, Any]) -> None:
    expected = case["expected"]
    assert TwitterAdapter.measure(case["text"]) == expected["weightedLength"]
    problems = TwitterAdapter.check(Draft(case["text"]), TwitterAdapter.limits)
    assert (not problems) == expected["valid"]


@pytest.mark.parametrize("case", VALIDATE["tweets"], ids=lambda c: c["description"])
def test_legacy_tweets_section_under_v1(case: dict[str, Any]) -> None:
    assert parse_tweet(case["text"], _config(1)).valid == case["expected"]


@pytest.mark.parametrize("case", EXTRACT["urls"], ids=lambda c: c["description"])
def test_url_extraction(case: dict[str, Any]) -> None:
    assert extract_urls(case["text"]) == case["expected"]


@pytest.mark.parametrize(
    "case",
    EXTRACT["urls_with_indices"] + EXTRACT["urls_with_directional_markers"],
    ids=lambda c: c["description"],
)
def test_url_extraction_with_indices(case: dict[str, Any]) -> None:
    assert extract_urls_with_indices(case["text"]) == case["expected"]


@pytest.mark.parametrize("case", EXTRACT["tco_urls_with_params"], ids=lambda c: c["description"])
def test_tco_urls(case: dict[str, Any]) -> None:
    assert extract_urls(case["text"]) == case["expected"]


@pytest.mark.parametrize(
    ("text", "upstream", "library"),
    [
        # upstream = npm twitter-text 3.1.0 parseTweet (and the Java parser's emoji regex)
        ("\u00a9", 1, 2),  # (c) defaults to text: an emoji only with U+FE0F
        ("a\u00aeb", 3, 4),
        ("\u00a9\ufe0f", 2, 2),
        ("a\r\nb", 4, 3),  # the library rewrites CR LF to LF before counting
        ("\u231a\ufe0f", 2, 4),  # watch + VS16 is one emoji
        ("\u2615\ufe0f\u2615", 4, 6),
        ("\u2705\ufe0f", 4, 4),  # no variation sequence: the VS16 counts on its own
        ("\u263a\ufe0f", 2, 2),
    ],
)
def test_measure_fixes_library_divergences(text: str, upstream: int, library: int) -> None:
    assert TwitterAdapter.measure(text) == upstream
    assert parse_tweet(text).weightedLength == library


def test_weights() -> None:
    assert TwitterAdapter.measure("日本語") == 6
    assert TwitterAdapter.measure("see https://example.com/" + "x" * 200) == 27
    assert TwitterAdapter.measure("example.com") == 23
    assert TwitterAdapter.measure("👨\u200d👩\u200d👧\u200d👦") == 2
    assert TwitterAdapter.measure("caf\u0065\u0301") == 4  # NFC
    assert TwitterAdapter.measure("a" * 280) == 280


def test_check_rules() -> None:
    media_server_url = "https://example.com"
    check = TwitterAdapter.check
    limits = TwitterAdapter.limits
    assert check(Draft("hi"), limits) == []
    image = ImageRef(f"{media_server_url}/a.jpg", "alt")
    assert check(Draft("", images=(image,)), limits) == []
    assert check(Draft("  "), limits) == ["X needs text, images or a video."]
    assert any("at most 4 images" in p for p in check(Draft("x", images=(image,) * 5), limits))
    both = Draft("x", images=(image,), video=VideoRef(f"{media_server_url}/v.mp4"))
    assert any("not both" in p for p in check(both, limits))
    assert any("U+FFFE" in p for p in check(Draft("a\ufffe"), limits))
    long_alt = Draft("x", images=(ImageRef(image.url, "a" * 1001),))
    assert any("alt text" in p.lower() for p in check(long_alt, limits))
    assert any("characters" in p for p in check(Draft("日" * 141), limits))


# -- helpers ------------------------------------------------------------------------


def images(media: MediaServer, count: int) -> tuple[ImageRef, ...]:
    names = ["image.jpg", "image.png", "image3.jpg", "image4.jpg", "image2.jpg"]
    return tuple(ImageRef(media.at(names[i]), f"Alt text {i + 1}") for i in range(count))


async def send(
    fake: Fake,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, dict[str, str]]:
    """A request to the fake without the adapter (to prove the fake is strict)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, headers=sent, **kwargs) as resp,
    ):
        body = await resp.read()
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = body.decode()
        return resp.status, data, dict(resp.headers)


def oauth1_header(fake: Fake, method: str, url: str, *, api_secret: str | None = None) -> str:
    client = oauthlib.oauth1.Client(
        Fake.API_KEY,
        client_secret=api_secret or Fake.API_SECRET,
        resource_owner_key=Fake.ACCESS_TOKEN,
        resource_owner_secret=Fake.ACCESS_TOKEN_SECRET,
    )
    _, headers, _ = client.sign(url, http_method=method)
    return str(headers["Authorization"])


class BigVideo:
    """A local server with a video larger than one upload segment."""

    def __init__(self, size: int) -> None:
        self.body = bytes(MP4[:32]) + bytes(i % 251 for i in range(size - 32))
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> BigVideo:
        async def serve(_: web.Request) -> web.Response:
            return web.Response(body=self.body, content_type="video/mp4")

        app = web.Application()
        app.router.add_get("/big.mp4", serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/big.mp4"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    async with Fake() as server:
        yield server  # type: ignore[misc]


# -- identity and credentials ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["oauth1", "oauth2"])
async def test_verify_stores_kind_and_user_id(kind: str) -> None:
    async with Fake(kind=kind) as fake, rig("twitter", fake, verify=False) as r:
        creds = dict(r.account.credentials)
        creds.pop("kind")  # inferred from the fields when left out
        r.account.credentials = creds
        identity = await r.adapter.verify()
        assert identity.username == "octopost_dev"
        assert identity.remote_id == Fake.USER.id
        assert identity.display_name == "Octopost Dev"
        assert identity.profile_url == "https://x.com/octopost_dev"
        assert r.saved[-1]["kind"] == kind
        assert r.saved[-1]["user_id"] == Fake.USER.id


@pytest.mark.parametrize(
    "creds",
    [
        {"kind": "oauth1", "api_key": "k", "api_secret": "s", "access_token": "t"},
        {"kind": "oauth2", "access_token": "t", "client_id": "c"},
        {"kind": "oauth2", "access_token": " ", "refresh_token": "r", "client_id": "c"},
        {"kind": "bearer", "access_token": "t"},
    ],
)
async def test_bad_credentials_are_rejected(fake: Fake, creds: dict[str, Any]) -> None:
    async with rig("twitter", fake, verify=False) as r:
        r.account.credentials = creds
        with pytest.raises(RejectedError, match="Invalid X credentials"):
            await r.adapter.verify()
        assert fake.requests == []


@pytest.mark.parametrize("field", ["api_secret", "access_token_secret", "api_key", "access_token"])
async def test_oauth1_wrong_secret_is_refused_by_the_signature_check(field: str) -> None:
    async with Fake(kind="oauth1") as fake, rig("twitter", fake, verify=False) as r:
        r.account.credentials = {**r.account.credentials, field: "wrong-" + field}
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.verify()
        assert info.value.message == EXPIRED
        assert fake.calls("GET", "/2/users/me")
        assert "oauth_signature=" in fake.requests[-1].headers["Authorization"]


async def test_fake_recomputes_the_oauth1_signature(fake: Fake) -> None:
    url = fake.url + "/2/users/me"
    good = oauth1_header(fake, "GET", url)
    status, body, _ = await send(fake, "GET", "/2/users/me", headers={"Authorization": good})
    assert status == 200 and body["data"]["username"] == "octopost_dev"
    # the same header again: a replayed nonce
    status, body, headers = await send(fake, "GET", "/2/users/me", headers={"Authorization": good})
    assert status == 401 and body == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert "x-rate-limit-limit" not in {k.lower() for k in headers}
    # signed with the wrong consumer secret
    bad = oauth1_header(fake, "GET", url, api_secret="not-the-secret")
    assert (await send(fake, "GET", "/2/users/me", headers={"Authorization": bad}))[0] == 401
    # the query string is part of the signature: signed for one query, sent with another
    signed = oauth1_header(fake, "GET", fake.url + f"/2/users/{Fake.USER.id}/tweets?max_results=5")
    status, _, _ = await send(
        fake,
        "GET",
        f"/2/users/{Fake.USER.id}/tweets?max_results=50",
        headers={"Authorization": signed},
    )
    assert status == 401


@pytest.mark.parametrize("kind", ["oauth1", "oauth2"])
async def test_text_post_end_to_end(kind: str) -> None:
    async with Fake(kind=kind) as fake, rig("twitter", fake) as r:
        draft = Draft("Hello <world> & https://example.com/a")
        job = r.job()
        result = await r.adapter.publish(draft, job)
        assert fake.posts[0]["text"] == "Hello <world> & https://example.com/a"
        assert result.post_id == fake.posts[0]["id"]
        assert result.post_url == f"https://x.com/octopost_dev/status/{result.post_id}"
        auth = fake.calls("POST", "/2/tweets")[0].headers["Authorization"]
        assert auth.startswith("OAuth " if kind == "oauth1" else "Bearer ")
        # a retried publish of the same job returns the post and sends nothing
        again = await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert again == result and len(fake.calls("POST", "/2/tweets")) == 1


async def test_publish_without_a_known_username_uses_the_web_url(fake: Fake) -> None:
    async with rig("twitter", fake, verify=False) as r:
        result = await r.adapter.publish(Draft("no username yet"), r.job())
        assert result.post_url == f"https://x.com/i/web/status/{result.post_id}"


async def test_reply_settings_from_account_settings(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        r.account.settings = {"reply_settings": "following"}
        await r.adapter.publish(Draft("only followers reply"), r.job())
        assert fake.posts[0]["reply_settings"] == "following"
        r.account.settings = {"reply_settings": "everyone"}
        with pytest.raises(RejectedError, match="account settings"):
            await r.adapter.publish(Draft("bad setting"), r.job("p2"))


# -- OAuth 2.0 token lifecycle ----------------------------------------------------------


async def test_expired_token_is_refreshed_and_saved_before_use(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        posts_seen_at_save: list[int] = []
        saved = r.saved

        async def saver(credentials: dict[str, Any]) -> None:
            posts_seen_at_save.append(len(fake.calls("POST", "/2/tweets")))
            saved.append(dict(credentials))

        r.account.saver = saver
        old_refresh = r.account.credentials["refresh_token"]
        r.account.credentials = {**r.account.credentials, "expires_at": time.time() - 5}
        await r.adapter.publish(Draft("after refresh"), r.job())
        assert fake.refreshes == 1
        assert fake.token_requests[0] == {
            "grant_type": "refresh_token",
            "refresh_token": old_refresh,
            "client_id": Fake.CLIENT_ID,
        }
        assert posts_seen_at_save == [0]  # stored before the post went out
        new = saved[-1]
        assert new["refresh_token"] != old_refresh
        assert fake.refresh_tokens[old_refresh].used
        assert not fake.refresh_tokens[new["refresh_token"]].used
        assert new["expires_at"] > time.time() + 7000
        sent = fake.calls("POST", "/2/tweets")[0].headers["Authorization"]
        assert sent == f"Bearer {new['access_token']}"


async def test_confidential_client_refreshes_with_basic_auth(fake: Fake) -> None:
    fake.confidential = True
    async with rig("twitter", fake) as r:
        assert r.account.credentials["client_secret"] == Fake.CLIENT_SECRET
        r.account.credentials = {**r.account.credentials, "expires_at": time.time() - 5}
        await r.adapter.publish(Draft("confidential"), r.job())
        assert fake.refreshes == 1
        assert (
            fake.calls("POST", "/2/oauth2/token")[0].headers["Authorization"].startswith("Basic ")
        )


async def test_two_concurrent_publishes_refresh_once_by_expiry(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        r.account.credentials = {**r.account.credentials, "expires_at": time.time() - 5}
        other = r.new_adapter()
        await asyncio.gather(
            r.adapter.publish(Draft("first"), r.job("p1")),
            other.publish(Draft("second"), r.job("p2")),
        )
        assert fake.refreshes == 1
        assert sorted(p["text"] for p in fake.posts) == ["first", "second"]


async def test_two_concurrent_publishes_refresh_once_after_401(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        fake.expire_access_tokens()  # X revoked it early; our expires_at still says valid
        other = r.new_adapter()
        await asyncio.gather(
            r.adapter.publish(Draft("first"), r.job("p1")),
            other.publish(Draft("second"), r.job("p2")),
        )
        assert fake.refreshes == 1
        assert len(fake.posts) == 2
        assert len(r.saved) >= 2  # verify's save, then the one refresh
        assert len({s["refresh_token"] for s in r.saved}) == 2


async def test_spent_refresh_token_means_reconnect(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        stale = dict(r.account.credentials)
        r.account.credentials = {**stale, "expires_at": time.time() - 5}
        await r.adapter.publish(Draft("one"), r.job("p1"))
        # an old copy of the credentials (e.g. restored from a backup) reuses the spent token
        r.account.credentials = {**stale, "expires_at": time.time() - 5}
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("two"), r.job("p2"))
        assert info.value.message == EXPIRED
        assert fake.refreshes == 2 and len(fake.posts) == 1
        status, body, _ = await send(
            fake,
            "POST",
            "/2/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": stale["refresh_token"],
                "client_id": Fake.CLIENT_ID,
            },
        )
        assert status == 400
        assert body == {
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid.",
        }


async def test_401_refreshes_once_then_gives_up(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        fake.fail_next("auth", count=2)
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("nope"), r.job())
        assert info.value.message == EXPIRED
        assert fake.refreshes == 1
        assert len(fake.calls("POST", "/2/tweets")) == 2


async def test_oauth1_401_does_not_try_to_refresh() -> None:
    async with Fake(kind="oauth1") as fake, rig("twitter", fake) as r:
        fake.fail_next("auth")
        with pytest.raises(AuthExpiredError, match=EXPIRED):
            await r.adapter.publish(Draft("nope"), r.job())
        assert fake.token_requests == [] and len(fake.calls("POST", "/2/tweets")) == 1


# -- media --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["oauth1", "oauth2"])
async def test_images_with_alt_text(kind: str, media_server: MediaServer) -> None:
    async with Fake(kind=kind) as fake, rig("twitter", fake) as r:
        draft = Draft("Four pictures", images=images(media_server, 4))
        result = await r.adapter.publish(draft, r.job())
        post = fake.posts[0]
        assert [m["alt_text"] for m in post["media"]] == [f"Alt text {i}" for i in range(1, 5)]
        assert {m["kind"] for m in post["media"]} == {"image"}
        inits = [json.loads(c.body) for c in fake.calls("POST", "/2/media/upload/initialize")]
        assert [i["media_category"] for i in inits] == ["tweet_image"] * 4
        assert inits[0] == {
            "media_type": "image/jpeg",
            "total_bytes": len(JPEG),
            "media_category": "tweet_image",
        }
        assert inits[1]["media_type"] == "image/png"
        metadata = [json.loads(c.body) for c in fake.calls("POST", "/2/media/metadata")]
        assert metadata[0] == {
            "id": post["media"][0]["id"],
            "metadata": {"alt_text": {"text": "Alt text 1"}},
        }
        assert len(metadata) == 4
        assert bytes(fake.media[post["media"][0]["id"]].data) == JPEG
        assert bytes(fake.media[post["media"][1]["id"]].data) == PNG
        assert fake.calls("GET", "/2/media/upload") == []  # images need no processing polls
        assert result.post_id == post["id"]
        assert media_server.hits["image.jpg"] == 1


async def test_image_without_alt_text_sends_no_metadata(
    fake: Fake, media_server: MediaServer
) -> None:
    async with rig("twitter", fake) as r:
        await r.adapter.publish(
            Draft("", images=(ImageRef(media_server.at("image.jpg")),)), r.job()
        )
        assert fake.calls("POST", "/2/media/metadata") == []
        assert fake.posts[0]["text"] == ""


async def test_video_with_processing_polls(fake: Fake, media_server: MediaServer) -> None:
    fake.processing_polls = 3
    async with rig("twitter", fake) as r:
        result = await r.adapter.publish(
            Draft("A video", video=VideoRef(media_server.at("video.mp4"))), r.job()
        )
        post = fake.posts[0]
        assert post["media"][0]["kind"] == "video"
        media = fake.media[post["media"][0]["id"]]
        assert media.category == "tweet_video" and bytes(media.data) == MP4
        polls = fake.calls("GET", "/2/media/upload")
        assert len(polls) == 4  # 3 x in_progress, then succeeded
        assert polls[0].query == {"command": "STATUS", "media_id": media.id}
        assert result.post_id == post["id"]


async def test_video_in_several_segments(fake: Fake) -> None:
    async with BigVideo(9 * 1024 * 1024) as video, rig("twitter", fake) as r:
        await r.adapter.publish(Draft("big", video=VideoRef(video.url)), r.job())
        appends = fake.calls("POST", "/2/media/upload/")
        appends = [c for c in appends if c.path.endswith("/append")]
        assert len(appends) == 3
        media = fake.media[fake.posts[0]["media"][0]["id"]]
        assert bytes(media.data) == video.body and media.segments == 3


async def test_video_processing_failure(fake: Fake, media_server: MediaServer) -> None:
    fake.fail_processing = True
    async with rig("twitter", fake) as r:
        job = r.job()
        with pytest.raises(MediaError, match="could not process"):
            await r.adapter.publish(Draft("bad", video=VideoRef(media_server.at("video.mp4"))), job)
        assert fake.posts == [] and fake.calls("POST", "/2/tweets") == []
        assert "tweet_sent_at" not in job.state
        assert await r.adapter.recover(Draft("bad"), job) is None  # nothing was sent


async def test_unsupported_media_type_is_refused_before_upload(
    fake: Fake, media_server: MediaServer
) -> None:
    async with rig("twitter", fake) as r:
        with pytest.raises(MediaError, match="JPEG, PNG, GIF or WEBP"):
            await r.adapter.publish(
                Draft("page", images=(ImageRef(media_server.at("page.html")),)), r.job()
            )
        assert fake.calls("POST", "/2/media/upload/initialize") == []


async def test_missing_media_scope_means_reconnect(fake: Fake, media_server: MediaServer) -> None:
    access, refresh = fake.issue_tokens(
        Fake.USER, scopes=frozenset({"tweet.read", "tweet.write", "users.read"})
    )
    async with rig("twitter", fake) as r:
        r.account.credentials = {
            **r.account.credentials,
            "access_token": access,
            "refresh_token": refresh,
        }
        with pytest.raises(AuthExpiredError, match="media.write"):
            await r.adapter.publish(Draft("pic", images=images(media_server, 1)), r.job())


async def test_uploaded_media_are_reused_by_a_retry(fake: Fake, media_server: MediaServer) -> None:
    async with rig("twitter", fake) as r:
        draft = Draft("retry me", images=images(media_server, 2))
        job = r.job()
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        assert len(fake.calls("POST", "/2/media/upload/initialize")) == 2
        result = await r.new_adapter().publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert len(fake.calls("POST", "/2/media/upload/initialize")) == 2
        assert len(fake.posts) == 1 and result.post_id == fake.posts[0]["id"]
        # the retry looked for the post first (the 503 could have come after creating it)
        assert fake.calls("GET", f"/2/users/{Fake.USER.id}/tweets")


# -- unknown outcomes ------------------------------------------------------------------------


async def test_503_after_commit_is_found_not_reposted(
    fake: Fake, media_server: MediaServer
) -> None:
    async with rig("twitter", fake) as r:
        draft = Draft("Committed & then 503 https://example.com/x", images=images(media_server, 1))
        job = r.job()
        fake.fail_next("unavailable", commit=True)
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        assert len(fake.posts) == 1
        # X echoes "&amp;", a t.co link for the URL and one more for the image
        assert fake.posts[0]["shown"].count("https://t.co/") == 2
        result = await r.adapter.publish(draft, r.job(attempt=2, state=dict(job.state)))
        assert result.post_id == fake.posts[0]["id"]
        assert len(fake.calls("POST", "/2/tweets")) == 1 and len(fake.posts) == 1


@pytest.mark.parametrize("kind", ["oauth1", "oauth2"])
async def test_recover_after_a_lost_answer(kind: str) -> None:
    async with Fake(kind=kind) as fake, rig("twitter", fake) as r:
        job = r.job()
        fake.fail_next("drop")
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.publish(Draft("lost answer"), job)
        assert job.state["user_id"] == Fake.USER.id and job.state["tweet_sent_at"]
        found = await r.new_adapter().recover(Draft("lost answer"), r.job(state=dict(job.state)))
        assert found is not None and found.post_id == fake.posts[0]["id"]
        lookup = fake.calls("GET", f"/2/users/{Fake.USER.id}/tweets")[0]
        assert lookup.query["max_results"] == "20" and lookup.query["start_time"].endswith("Z")


async def test_recover_without_the_post_is_unknown(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        state = {"tweet_sent_at": time.time(), "user_id": Fake.USER.id}
        with pytest.raises(OutcomeUnknownError, match="check your X account"):
            await r.adapter.recover(Draft("never arrived"), r.job(state=state))
        assert await r.adapter.recover(Draft("never sent"), r.job()) is None


async def test_recover_ignores_older_identical_posts(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        await r.adapter.publish(Draft("daily"), r.job("yesterday"))
        fake.posts[0]["created_at"] -= 86400
        state = {"tweet_sent_at": time.time(), "user_id": Fake.USER.id}
        with pytest.raises(OutcomeUnknownError):
            await r.adapter.recover(Draft("daily"), r.job(state=state))


async def test_duplicate_on_a_resend_is_an_unknown_outcome(fake: Fake) -> None:
    """The post exists but the lookup cannot see it: X's duplicate rule stops a second one."""
    async with rig("twitter", fake) as r:
        await r.adapter.publish(Draft("same text"), r.job("earlier"))
        fake.posts[0]["created_at"] -= 86400  # outside the lookup window
        state = {"tweet_sent_at": time.time(), "user_id": Fake.USER.id}
        with pytest.raises(OutcomeUnknownError, match="duplicate"):
            await r.adapter.publish(Draft("same text"), r.job(state=state))
        assert len(fake.posts) == 1


# -- error mapping -----------------------------------------------------------------------------


async def test_duplicate_content(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        await r.adapter.publish(Draft("twice"), r.job("p1"))
        with pytest.raises(DuplicateError) as info:
            await r.adapter.publish(Draft("twice"), r.job("p2"))
        assert DUPLICATE in info.value.message and info.value.status == 403


async def test_read_only_oauth1_app() -> None:
    async with Fake(kind="oauth1") as fake, rig("twitter", fake) as r:
        fake.oauth1_read_only = True
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("write?"), r.job())
        assert OAUTH1_PERMISSIONS in info.value.message and "Read and write" in info.value.message


async def test_too_long_text_is_refused_with_x_reason(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("日" * 141), r.job())
        assert TOO_LONG in info.value.message and info.value.status == 400
        assert not isinstance(info.value, MediaError)


async def test_rate_limit_uses_the_reset_epoch(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        fake.fail_next("rate_limit", retry_after=600)
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("slow down"), r.job())
        assert info.value.retry_after is not None and 590 <= info.value.retry_after <= 601
        assert "Too Many Requests" in info.value.message


async def test_spent_24_hour_bucket_wins() -> None:
    fake = Fake()
    reset = int(time.time()) + 20000
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }

    @web.middleware
    async def day_cap(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/2/tweets":
            return await handler(request)
        response = web.json_response(body, status=429)
        response.headers.update(
            {
                "x-rate-limit-reset": str(int(time.time()) + 60),
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(reset),
            }
        )
        return response

    fake.app.middlewares.append(day_cap)
    async with fake, rig("twitter", fake) as r:
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("cap"), r.job())
        assert info.value.retry_after is not None and info.value.retry_after > 19000


async def test_usage_cap_is_not_retried(fake: Fake) -> None:
    async with rig("twitter", fake) as r:
        fake.fail_next("usage_capped")
        with pytest.raises(RejectedError, match="usage cap") as info:
            await r.adapter.publish(Draft("cap"), r.job())
        assert not info.value.retryable


# -- the fake is strict -------------------------------------------------------------------------


async def test_fake_rejects_malformed_requests(fake: Fake) -> None:
    token = fake.initial_access
    status, body, _ = await send(fake, "POST", "/2/tweets", json={"text": "no auth"})
    assert status == 401 and body["detail"] == "Unauthorized"
    status, body, headers = await send(
        fake, "POST", "/2/tweets", token=token, json={"text": "x", "status": "y"}
    )
    assert status == 400 and body["type"].endswith("/2/problems/invalid-request")
    assert "additional properties" in body["errors"][0]["message"]
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= {
        k.lower() for k in headers
    }
    status, body, _ = await send(fake, "POST", "/2/tweets", token=token, json={"text": " "})
    assert status == 400
    ids = [str(1880028106020515840 + i) for i in range(5)]
    status, body, _ = await send(
        fake, "POST", "/2/tweets", token=token, json={"text": "x", "media": {"media_ids": ids}}
    )
    assert status == 400 and "media_ids" in body["errors"][0]["message"]
    status, body, _ = await send(
        fake, "POST", "/2/tweets", token=token, json={"text": "x", "media": {"media_ids": ids[:1]}}
    )
    assert status == 400 and body["errors"][0]["message"] == "Your media IDs are invalid."
    status, body, _ = await send(fake, "POST", "/2/tweets", token=token, json={"text": "日" * 141})
    assert status == 400 and body["errors"][0]["message"] == TOO_LONG
    status, body, headers = await send(fake, "POST", "/2/tweets", token=token, json={"text": "ok"})
    assert status == 201 and set(body["data"]) == {"id", "text", "edit_history_post_ids"}
    assert headers["x-user-limit-24hour-remaining"]
    status, body, _ = await send(fake, "POST", "/2/tweets", token=token, json={"text": "ok"})
    assert status == 403 and body["detail"] == DUPLICATE


async def test_fake_media_rules(fake: Fake) -> None:
    token = fake.initial_access
    init = {"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_video"}
    status, body, _ = await send(fake, "POST", "/2/media/upload/initialize", token=token, json=init)
    assert status == 200 and body["data"]["media_key"].startswith("7_")
    media_id = body["data"]["id"]

    def segment(index: int, data: bytes) -> aiohttp.FormData:
        form = aiohttp.FormData()
        form.add_field("segment_index", str(index))
        form.add_field("media", data, filename="blob", content_type="application/octet-stream")
        return form

    append = f"/2/media/upload/{media_id}/append"
    assert (await send(fake, "POST", append, token=token, data=segment(1, b"12345")))[0] == 400
    assert (await send(fake, "POST", append, token=token, data=segment(0, b"12345")))[0] == 200
    finalize = f"/2/media/upload/{media_id}/finalize"
    status, body, _ = await send(fake, "POST", finalize, token=token)
    assert status == 400 and "total file size" in body["errors"][0]["message"]
    assert (await send(fake, "POST", append, token=token, data=segment(1, b"123456")))[0] == 400
    assert (await send(fake, "POST", append, token=token, data=segment(1, b"67890")))[0] == 200
    status, body, _ = await send(fake, "POST", finalize, token=token)
    assert body["data"]["processing_info"] == {"state": "pending", "check_after_secs": 1}
    # not processed yet: cannot be attached
    status, body, _ = await send(
        fake,
        "POST",
        "/2/tweets",
        token=token,
        json={"text": "v", "media": {"media_ids": [media_id]}},
    )
    assert status == 400
    status, body, _ = await send(
        fake,
        "POST",
        "/2/media/metadata",
        token=token,
        json={"id": media_id, "metadata": {"alt_text": {"text": "a" * 1001}}},
    )
    assert status == 400
    # someone else's media
    other, _ = fake.issue_tokens(Fake.OTHER)
    status, body, _ = await send(
        fake, "GET", f"/2/media/upload?command=STATUS&media_id={media_id}", token=other
    )
    assert status == 404 and body["type"].endswith("resource-not-found")
    status, body, _ = await send(
        fake,
        "POST",
        "/2/media/upload/initialize",
        token=token,
        json={**init, "media_type": "video/avi"},
    )
    assert status == 400


async def test_fake_rate_limits_per_user(fake: Fake) -> None:
    token = fake.initial_access
    for _ in range(75):
        assert (await send(fake, "GET", "/2/users/me", token=token))[0] == 200
    status, body, headers = await send(fake, "GET", "/2/users/me", token=token)
    assert status == 429
    assert body == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert (
        headers["x-rate-limit-remaining"] == "0"
        and int(headers["x-rate-limit-reset"]) > time.time()
    )
    other, _ = fake.issue_tokens(Fake.OTHER)
    assert (await send(fake, "GET", "/2/users/me", token=other))[0] == 200


def _answer(status: int, body: Any, path: str = "/2/tweets", **headers: str) -> Response:
    return Response(status, headers, json.dumps(body).encode(), "https://api.x.com" + path)


def test_error_classification() -> None:
    now = 1_800_000_000.0
    validation = {
        "errors": [
            {"parameters": {"media.media_ids": ["1"]}, "message": "Your media IDs are invalid."}
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    error = classify(_answer(400, validation), now)
    assert isinstance(error, MediaError) and "Your media IDs are invalid." in error.message
    missing = {"title": "Not Found Error", "detail": "Could not find media.", "type": "about:blank"}
    assert isinstance(classify(_answer(404, missing, "/2/media/upload"), now), MediaError)
    permissions = {"title": "Forbidden", "detail": OAUTH1_PERMISSIONS, "status": 403,
                   "type": "https://api.twitter.com/2/problems/oauth1-permissions"}  # fmt: skip
    assert isinstance(classify(_answer(403, permissions), now), AuthExpiredError)
    capped = {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
              "type": "https://api.x.com/2/problems/usage-capped"}  # fmt: skip
    error = classify(_answer(429, capped), now)
    assert isinstance(error, RejectedError) and not error.retryable
    limited = _answer(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
                      **{"x-rate-limit-reset": str(int(now) + 90)})  # fmt: skip
    error = classify(limited, now)
    assert isinstance(error, RateLimitedError) and error.retry_after == 90
    assert "Rate limit exceeded" in error.message
    assert classify(_answer(401, {"title": "Unauthorized"}), now) is None  # default mapping
    assert classify(_answer(503, {"title": "Service Unavailable"}), now) is None
    assert (
        reason(_answer(400, {"error": "invalid_request", "error_description": "Bad token."}))
        == "Bad token."
    )
