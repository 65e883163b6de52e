"""Mastodon: media flows, length rules (upstream vectors), recovery, errors, and a strict fake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from octopost.platforms.base import Draft, ImageRef, VideoRef
from octopost.platforms.errors import (
    AuthExpiredError,
    MediaError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from octopost.platforms.mastodon import MastodonAdapter, MastodonLimits
from octopost.platforms.mastodon.api import normalise_instance_url
from octopost.platforms.mastodon.text import status_length
from tests.fakes._lengths import mastodon_length
from tests.fakes.mastodon import NOT_READY, Fake
from tests.fakes.media import MediaServer
from tests.helpers import Clock
from tests.platforms.harness import rig

#: upstream vectors, copied with their provenance (tests/data/README.md)
VECTORS = Path(__file__).resolve().parent.parent / "data" / "mastodon-length.json"


def images(media: MediaServer, count: int) -> tuple[ImageRef, ...]:
    names = ["image.jpg", "image2.jpg", "image3.jpg", "image4.jpg", "image.png"]
    return tuple(ImageRef(media.at(names[i]), f"Alt text {i + 1}") for i in range(count))


def header(recorded: Any, name: str) -> str | None:
    return {k.lower(): v for k, v in recorded.headers.items()}.get(name.lower())


async def raw(
    fake: Fake,
    method: str,
    path: str,
    *,
    token: str | None = Fake.TOKEN,
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


async def upload(fake: Fake, data: bytes, *, token: str = Fake.TOKEN, **fields: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="f.bin", content_type="application/octet-stream")
    for name, value in fields.items():
        form.add_field(name, value)
    return await raw(fake, "POST", "/api/v2/media", token=token, data=form)


# -- length rules -------------------------------------------------------------------


def load_vectors() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_length_vectors_from_upstream_spec() -> None:
    cases = load_vectors()
    assert len(cases) == 10
    for case in cases:
        length = status_length(case["text"], case["spoiler_text"])
        assert length == case["derived_counted_length"], case["name"]
        assert (length > case["max_chars"]) == case["expect_error"], case["name"]
        if not case["spoiler_text"]:
            assert MastodonAdapter.measure(case["text"]) == length
            over = MastodonAdapter.check(
                Draft(case["text"]), MastodonLimits(max_chars=case["max_chars"])
            )
            assert bool([p for p in over if "characters" in p]) == case["expect_error"], case[
                "name"
            ]


async def test_the_fake_applies_the_same_vectors() -> None:
    async with Fake() as fake:
        for case in load_vectors():
            body = {"status": case["text"], "spoiler_text": case["spoiler_text"]}
            status, data, _ = await raw(fake, "POST", "/api/v1/statuses", json=body)
            if case["expect_error"]:
                assert status == 422, case["name"]
                assert data["error"].startswith("Validation failed: ")
                assert data["error"].endswith("Text character limit of 500 exceeded")
            else:
                assert status == 200, (case["name"], data)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("see https://example.com/a/very/long/path/that/goes/on?x=1 ok", 4 + 23 + 3),
        ("bare example.com/a/long/path counts as written", 46),
        ("gemini://example.org/some/long/capsule/path", 23),
        ("hi @alice@mastodon.example and @bob", len("hi @alice and @bob")),
        ("mail me at alice@example.com", 28),
        ("👩‍👩‍👧‍👦 家族", 4),
        ("(https://en.wikipedia.org/wiki/Foo_(bar))", 25),
        ("   \n  ", 0),
    ],
)
def test_counting_rule(text: str, length: int) -> None:
    assert MastodonAdapter.measure(text) == length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        # Unicode 15.0 clusters (Ruby before 3.5): no GB9c, so each conjunct consonant counts
        ("नमस्ते", 4),
        ("क्षत्रिय", 5),
        ("नमस्ते " * 100, 500),
        # Ruby's [[:word:]] has no ZWJ/ZWNJ: the mention's domain ends there
        ("@bob@ex\u200dample.com hi", 16),
        ("@bob@ex\u200cample.com", len("@bob") + len("\u200cample.com") - 1),
    ],
)
def test_never_counts_less_than_the_instance(text: str, length: int) -> None:
    assert MastodonAdapter.measure(text) == length
    assert mastodon_length(text) == length  # the fake's own count agrees


async def test_fake_refuses_what_ruby_counts_over_the_limit() -> None:
    async with Fake() as fake:
        text = "नमस्ते " * 100 + "a"  # 501 on Ruby 3.4 (401 by Unicode 15.1 rules)
        status, data, _ = await raw(fake, "POST", "/api/v1/statuses", json={"status": text})
        assert status == 422 and "character limit" in data["error"]
        assert MastodonAdapter.check(Draft(text), MastodonLimits(max_chars=500))


async def test_language_is_sent_and_kept_as_mastodon_keeps_it() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        await r.adapter.publish(Draft("Olá", language="pt-BR"), r.job("p1"))
        await r.adapter.publish(Draft("Hi", language="en-US"), r.job("p2"))
        await r.adapter.publish(Draft("Hej"), r.job("p3"))
        assert [p["language"] for p in fake.posts] == ["pt-BR", "en", None]
        sent = [json.loads(c.body) for c in fake.calls("POST", "/api/v1/statuses")]
        assert [b.get("language") for b in sent] == ["pt-BR", "en-US", None]


def test_instance_url_weight_and_alt_text_limit() -> None:
    text = "x" * 470 + " https://example.com/a"
    assert MastodonAdapter.check(Draft(text), MastodonLimits(max_chars=500)) == []
    problems = MastodonAdapter.check(Draft(text), MastodonLimits(max_chars=500, url_chars=40))
    assert problems == ["Content is 511 characters as Mastodon counts them; the limit is 500."]
    long_alt = Draft("x", images=(ImageRef("https://e.example/a.jpg", "a" * 1501),))
    assert MastodonAdapter.check(long_alt, MastodonLimits(max_chars=500)) == [
        "Alt text of image 1 is 1501 characters; Mastodon allows 1500."
    ]


def test_check_media_rules() -> None:
    limits = MastodonAdapter.limits
    mixed = Draft(
        "x",
        images=(ImageRef("https://e.example/a.jpg"),),
        video=VideoRef("https://e.example/v.mp4"),
    )
    assert (
        "Mastodon cannot combine images with a video: a post carries images or one video, not both."
        in MastodonAdapter.check(mixed, limits)
    )
    five = Draft("x", images=tuple(ImageRef(f"https://e.example/{i}.jpg") for i in range(5)))
    assert MastodonAdapter.check(five, limits) == [
        "Mastodon accepts at most 4 images; the post has 5."
    ]
    assert MastodonAdapter.check(Draft("  "), limits) == ["Mastodon needs text, images or a video."]
    assert (
        MastodonAdapter.check(Draft("", images=(ImageRef("https://e.example/a.jpg"),)), limits)
        == []
    )


def test_instance_url_normalisation() -> None:
    assert normalise_instance_url("mastodon.social/") == "https://mastodon.social"
    assert normalise_instance_url(" HTTPS://Mastodon.Social/@alice ") == "https://mastodon.social"
    assert normalise_instance_url("http://mastodon.social") == "https://mastodon.social"
    assert normalise_instance_url("@alice@hachyderm.io") == "https://hachyderm.io"
    assert normalise_instance_url("https://social.example:443/") == "https://social.example"
    assert normalise_instance_url("http://127.0.0.1:3000/") == "http://127.0.0.1:3000"
    assert normalise_instance_url("") == ""
    with pytest.raises(RejectedError):
        normalise_instance_url("ftp://mastodon.social")


# -- identity, limits, credentials -------------------------------------------------


async def test_verify_returns_identity_and_stores_the_account_id() -> None:
    async with Fake() as fake, rig("mastodon", fake, verify=False) as r:
        identity = await r.adapter.verify()
        assert identity.username == "alice"
        assert identity.display_name == "Alice"
        assert identity.remote_id == "109000000000000001"
        assert identity.profile_url == "https://mastodon.example/@alice"
        assert r.saved[-1]["account_id"] == "109000000000000001"
        assert r.saved[-1]["instance_url"] == fake.url


async def test_config_base_url_is_used_only_without_an_instance_url() -> None:
    async with Fake() as fake:
        fake.credentials = lambda: {"access_token": Fake.TOKEN}  # type: ignore[method-assign]
        async with rig("mastodon", fake) as r:
            assert r.account.username == "alice"
            assert "instance_url" not in r.account.credentials
        fake.platform_config = lambda: {"base_url": ""}  # type: ignore[method-assign]
        async with rig("mastodon", fake, verify=False) as r:
            with pytest.raises(RejectedError, match="instance_url is required"):
                await r.adapter.verify()


async def test_missing_token_is_rejected() -> None:
    async with Fake() as fake:
        fake.credentials = lambda: {"instance_url": fake.url}  # type: ignore[method-assign]
        async with rig("mastodon", fake, verify=False) as r:
            with pytest.raises(RejectedError, match="Invalid Mastodon credentials"):
                await r.adapter.verify()


async def test_current_limits_come_from_the_instance_and_are_cached() -> None:
    clock = Clock()
    async with (
        Fake(max_characters=1000, characters_reserved_per_url=30) as fake,
        rig("mastodon", fake) as r,
    ):
        r.adapter.deps.clock = clock
        limits = await r.adapter.current_limits()
        assert limits.max_chars == 1000 and limits.max_images == 4
        assert isinstance(limits, MastodonLimits) and limits.url_chars == 30
        fake.max_characters = 5000
        assert (await r.new_adapter().current_limits()).max_chars == 1000  # cached
        assert len(fake.calls("GET", "/api/v2/instance")) == 1
        clock.now += 3601
        assert (await r.adapter.current_limits()).max_chars == 5000
        assert len(fake.calls("GET", "/api/v2/instance")) == 2


# -- media flows ---------------------------------------------------------------------


async def test_text_post_sends_the_idempotency_key(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        job = r.job("post_text")
        result = await r.adapter.publish(Draft("Hello #octopost", language="en"), job)
        assert result.post_url == f"https://mastodon.example/@alice/{result.post_id}"
        [create] = fake.calls("POST", "/api/v1/statuses")
        assert header(create, "Idempotency-Key") == job.key
        assert header(create, "Authorization") == f"Bearer {Fake.TOKEN}"
        assert json.loads(create.body) == {"status": "Hello #octopost", "language": "en"}
        assert fake.posts[0]["text"] == "Hello #octopost"
        assert job.state["status_id"] == result.post_id


async def test_images_with_alt_text(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        r.account.settings = {"visibility": "unlisted", "sensitive": True}
        job = r.job("post_images")
        result = await r.adapter.publish(Draft("Four squares", images=images(media_server, 4)), job)
        [post] = fake.posts
        assert post["id"] == result.post_id
        assert [m["description"] for m in post["media"]] == [f"Alt text {i}" for i in range(1, 5)]
        assert post["visibility"] == "unlisted" and post["sensitive"] is True
        assert len(fake.calls("POST", "/api/v2/media")) == 4
        assert fake.calls("GET", "/api/v1/media/") == []  # images are processed at once (200)
        assert [e["id"] for e in job.state["media"].values()] == [m["id"] for m in post["media"]]


async def test_video_waits_for_processing_and_sends_the_thumbnail(
    media_server: MediaServer,
) -> None:
    async with Fake(processing_polls=3) as fake, rig("mastodon", fake) as r:
        draft = Draft(
            "A clip", video=VideoRef(media_server.at("video.mp4"), media_server.at("thumb.jpg"))
        )
        result = await r.adapter.publish(draft, r.job("post_video"))
        [post] = fake.posts
        assert post["id"] == result.post_id
        assert post["media"][0]["type"] == "video" and post["media"][0]["thumbnail"] is True
        polls = fake.calls("GET", "/api/v1/media/")
        assert len(polls) == 4  # three 206 answers, then 200
        assert len(fake.calls("POST", "/api/v1/statuses")) == 1


async def test_video_processing_failure_is_a_media_error(media_server: MediaServer) -> None:
    async with Fake(processing_polls=1) as fake, rig("mastodon", fake) as r:
        fake.fail_processing = True
        job = r.job("post_bad_video")
        with pytest.raises(MediaError, match="Error processing thumbnail"):
            await r.adapter.publish(
                Draft("clip", video=VideoRef(media_server.at("video.mp4"))), job
            )
        assert fake.posts == [] and fake.calls("POST", "/api/v1/statuses") == []
        assert job.state["media"] == {}  # a later attempt uploads afresh


async def test_unprocessed_media_on_create_is_retried_with_the_same_key(
    media_server: MediaServer,
) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.not_ready_creates = 2
        job = r.job("post_race")
        _, failures = await r.publish_retrying(Draft("race", images=images(media_server, 1)), job)
        # each refusal goes to the publisher as a retryable wait, never a loop in the adapter
        assert [type(f) for f in failures] == [UnavailableError, UnavailableError]
        assert all(f.retry_after is not None for f in failures)
        creates = fake.calls("POST", "/api/v1/statuses")
        assert len(creates) == 3
        assert {header(c, "Idempotency-Key") for c in creates} == {job.key}
        assert len(fake.posts) == 1


async def test_media_never_ready_gives_up_bounded(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.not_ready_creates = 1000
        with pytest.raises(UnavailableError, match="not finished processing"):
            await r.publish_retrying(Draft("race", images=images(media_server, 1)), r.job())
        # bounded by the attempts the publisher makes (one create each)
        assert len(fake.calls("POST", "/api/v1/statuses")) == 4
        assert fake.posts == []


async def test_a_retry_reuses_uploaded_media(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        draft = Draft("retry", images=images(media_server, 2))
        job = r.job("post_retry")
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        again = r.job("post_retry", attempt=2, state=dict(job.state))
        await r.new_adapter().publish(draft, again)
        assert len(fake.calls("POST", "/api/v2/media")) == 2
        assert len(fake.posts) == 1 and len(fake.posts[0]["media"]) == 2


async def test_a_resumed_video_is_polled_until_ready(media_server: MediaServer) -> None:
    async with Fake(processing_polls=2) as fake, rig("mastodon", fake) as r:
        draft = Draft("clip", video=VideoRef(media_server.at("video.mp4")))
        job = r.job("post_resume")
        fake.processing_polls = 10_000  # first attempt gives up while it still processes
        r.adapter.deps.settings.poll_timeout = 0.05
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        media_id = job.state["media"]["0"]["id"]
        fake.media[media_id].polls_left = 1
        r.adapter.deps.settings.poll_timeout = 5.0
        await r.new_adapter().publish(draft, r.job("post_resume", 2, dict(job.state)))
        assert len(fake.calls("POST", "/api/v2/media")) == 1
        assert fake.posts[0]["media"][0]["id"] == media_id


# -- lost answers and recovery --------------------------------------------------------


async def test_lost_answer_within_the_hour_resends_safely(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.tokens[Fake.TOKEN].scopes.discard("read:statuses")  # lookup refused: rely on the key
        draft = Draft("lost", images=images(media_server, 1))
        job = r.job("post_lost")
        fake.fail_next("drop")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        retry = r.job("post_lost", 2, dict(job.state))
        assert await r.new_adapter().recover(draft, retry) is None
        result = await r.new_adapter().publish(draft, retry)
        assert len(fake.posts) == 1 and result.post_id == fake.posts[0]["id"]
        assert len(fake.calls("POST", "/api/v2/media")) == 1


async def test_recover_finds_the_status_on_the_timeline(media_server: MediaServer) -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        draft = Draft("Hi @bob@other.example, see https://example.com/x & <this>\n\nbye")
        job = r.job("post_found")
        fake.fail_next("drop")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        found = await r.new_adapter().recover(draft, r.job("post_found", 2, dict(job.state)))
        assert found is not None and found.post_id == fake.posts[0]["id"]


async def test_recover_after_the_hour_looks_up_or_reports_unknown(
    media_server: MediaServer,
) -> None:
    clock = Clock()
    async with Fake(clock=clock) as fake, rig("mastodon", fake) as r:
        r.adapter.deps.clock = clock
        draft = Draft("an old attempt")
        job = r.job("post_old")
        fake.fail_next("drop")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        clock.now += 2 * 3600  # the instance forgot the key by now
        found = await r.new_adapter().recover(draft, r.job("post_old", 2, dict(job.state)))
        assert found is not None and found.post_id == fake.posts[0]["id"]
        other = Draft("never arrived")
        with pytest.raises(OutcomeUnknownError):
            await r.new_adapter().recover(other, r.job("post_old", 2, dict(job.state)))


async def test_publish_after_the_hour_checks_the_timeline_first() -> None:
    clock = Clock()
    async with Fake(clock=clock) as fake, rig("mastodon", fake) as r:
        r.adapter.deps.clock = clock
        draft = Draft("slow retry")
        job = r.job("post_slow")
        fake.fail_next("drop")
        with pytest.raises(UnavailableError):
            await r.adapter.publish(draft, job)
        clock.now += 2 * 3600
        result = await r.new_adapter().publish(draft, r.job("post_slow", 3, dict(job.state)))
        assert result.post_id == fake.posts[0]["id"] and len(fake.posts) == 1


async def test_recover_before_any_create_is_safe() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        assert await r.adapter.recover(Draft("x"), r.job()) is None


async def test_concurrent_publishes_with_one_key_make_one_post() -> None:
    async with Fake(delay=0.05) as fake, rig("mastodon", fake) as r:
        draft = Draft("twice at once")
        one, two = await asyncio.gather(
            r.adapter.publish(draft, r.job("post_twice")),
            r.new_adapter().publish(draft, r.job("post_twice")),
        )
        assert one.post_id == two.post_id and len(fake.posts) == 1


# -- error mapping ---------------------------------------------------------------------


async def test_revoked_token_reads_like_the_seed() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.revoke()
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("x"), r.job())
        assert info.value.message == "Token expired. Reconnect your Mastodon account."


async def test_missing_scope_needs_a_reconnect() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.tokens[Fake.TOKEN].scopes = {"profile"}
        with pytest.raises(AuthExpiredError) as info:
            await r.adapter.publish(Draft("x"), r.job())
        assert info.value.message == (
            "This action is outside the authorized scopes. Reconnect your Mastodon account."
        )


async def test_validation_errors_carry_mastodons_text() -> None:
    async with Fake(max_characters=10) as fake, rig("mastodon", fake) as r:
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(Draft("this is longer than ten"), r.job())
        assert "Validation failed: Text character limit of 10 exceeded" in info.value.message
        assert fake.posts == []


async def test_rate_limit_reset_is_iso_8601() -> None:
    async with Fake(rate_limit=3, rate_window=300) as fake, rig("mastodon", fake) as r:
        await r.adapter.publish(Draft("one"), r.job("a"))  # verify + create: 2 requests
        await r.adapter.publish(Draft("two"), r.job("b"))
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(Draft("three"), r.job("c"))
        assert info.value.retry_after is not None and 280 <= info.value.retry_after <= 300
        assert len(fake.posts) == 2


async def test_html_answers_are_unavailable() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError) as info:
            await r.adapter.publish(Draft("x"), r.job())
        assert info.value.status == 503


async def test_bad_account_settings_are_rejected() -> None:
    async with Fake() as fake, rig("mastodon", fake) as r:
        r.account.settings = {"visibility": "everyone"}
        with pytest.raises(RejectedError, match="account settings"):
            await r.adapter.publish(Draft("x"), r.job())


# -- the fake is strict ------------------------------------------------------------------


async def test_fake_requires_a_valid_bearer_token_everywhere() -> None:
    async with Fake() as fake:
        for method, path in [
            ("GET", "/api/v2/instance"),
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v2/media"),
            ("GET", "/api/v1/media/1"),
            ("POST", "/api/v1/statuses"),
        ]:
            status, data, _ = await raw(fake, method, path, token=None)
            assert (status, data) == (401, {"error": "The access token is invalid"}), path
            status, data, _ = await raw(fake, method, path, token="nope")
            assert status == 401, path


async def test_fake_sends_rate_limit_headers_and_429() -> None:
    async with Fake(rate_limit=2) as fake:
        _, _, headers = await raw(fake, "GET", "/api/v2/instance")
        assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"
        assert headers["X-RateLimit-Reset"].endswith("Z") and "T" in headers["X-RateLimit-Reset"]
        await raw(fake, "GET", "/api/v2/instance")
        status, data, headers = await raw(fake, "GET", "/api/v2/instance")
        assert (status, data) == (429, {"error": "Too many requests"})
        assert headers["X-RateLimit-Remaining"] == "0"


async def test_fake_media_rules(media_server: MediaServer) -> None:
    from tests.fakes.media import JPEG, MP4

    async with Fake(processing_polls=1) as fake:
        status, data, _ = await upload(fake, b"not an image")
        assert status == 422 and "content type is invalid" in data["error"]
        status, data, _ = await upload(fake, JPEG, description="a" * 1501)
        assert (status, data["error"]) == (
            422,
            "Validation failed: Description is too long (maximum is 1500 characters)",
        )
        status, data, _ = await raw(fake, "POST", "/api/v2/media", data=b"x")
        assert status == 422
        _, bobs, _ = await upload(fake, JPEG, token=Fake.OTHER_TOKEN)
        status, _, _ = await raw(fake, "GET", f"/api/v1/media/{bobs['id']}")
        assert status == 404
        _, image, _ = await upload(fake, JPEG)
        status, video, _ = await upload(fake, MP4)
        assert status == 202 and video["url"] is None

        async def create(**body: Any) -> tuple[int, Any]:
            status, data, _ = await raw(fake, "POST", "/api/v1/statuses", json=body)
            return status, data

        assert await create(status="x", media_ids=[video["id"]]) == (422, {"error": NOT_READY})
        assert await create(status="x", media_ids=[bobs["id"]]) == (
            422,
            {"error": f"Media {bobs['id']} not found or already attached to another post"},
        )
        status, _, _ = await raw(fake, "GET", f"/api/v1/media/{video['id']}")
        assert status == 206
        status, done, _ = await raw(fake, "GET", f"/api/v1/media/{video['id']}")
        assert status == 200 and done["url"]
        assert await create(status="x", media_ids=[image["id"], video["id"]]) == (
            422,
            {"error": "Cannot attach a video to a post that already contains images"},
        )
        assert await create(status="x", media_ids=[image["id"]] * 5) == (
            422,
            {"error": "Cannot attach more than 4 files"},
        )
        assert await create(status="   ") == (
            422,
            {"error": "Validation failed: Text can't be blank"},
        )
        status, post = await create(status="", media_ids=[image["id"]])
        assert status == 200 and post["media_attachments"][0]["id"] == image["id"]
        status, data = await create(status="again", media_ids=[image["id"]])
        assert "already attached" in data["error"]


async def test_fake_accepts_form_encoding_and_replays_idempotent_creates() -> None:
    from tests.fakes.media import JPEG

    async with Fake() as fake:
        _, one, _ = await upload(fake, JPEG)
        _, two, _ = await upload(fake, JPEG)
        form = (
            f"status=form+post&visibility=unlisted&media_ids[]={one['id']}&media_ids[]={two['id']}"
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "k1"}
        status, first, _ = await raw(fake, "POST", "/api/v1/statuses", data=form, headers=headers)
        assert status == 200 and first["visibility"] == "unlisted"
        assert len(first["media_attachments"]) == 2
        status, again, _ = await raw(
            fake,
            "POST",
            "/api/v1/statuses",
            json={"status": "different"},
            headers={"Idempotency-Key": "k1"},
        )
        assert status == 200 and again["id"] == first["id"]
        status, bobs, _ = await raw(
            fake,
            "POST",
            "/api/v1/statuses",
            json={"status": "bob's"},
            token=Fake.OTHER_TOKEN,
            headers={"Idempotency-Key": "k1"},
        )
        assert status == 200 and bobs["id"] != first["id"]  # keys are per account
        assert [p["text"] for p in fake.posts] == ["form post", "bob's"]
        assert len(fake.received) == 3
