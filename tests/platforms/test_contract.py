"""One suite, every (adapter, fake) pair: the promises the publisher relies on."""

from __future__ import annotations

import pytest

from octopost.platforms import ADAPTERS, ENDPOINTS, PLATFORM_IDS, settings_for
from octopost.platforms.base import Draft, Published
from octopost.platforms.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)
from tests.fakes.media import MediaServer
from tests.platforms.harness import fake_class, rig, sample_draft

PLATFORMS = sorted(ADAPTERS)


def _implemented(platform: str) -> bool:
    try:
        fake_class(platform)
    except (ImportError, AttributeError):
        return False
    return True


IMPLEMENTED = [p for p in PLATFORMS if _implemented(p)]


def test_every_platform_has_a_fake() -> None:
    assert IMPLEMENTED == PLATFORMS, (
        f"platforms without a fake: {sorted(set(PLATFORMS) - set(IMPLEMENTED))}"
    )


def test_the_registry_is_the_one_platform_list() -> None:
    assert tuple(ADAPTERS) == PLATFORM_IDS
    assert all(cls.platform == platform for platform, cls in ADAPTERS.items())


def test_an_adapter_reads_only_the_settings_it_declares() -> None:
    """`Deps.settings` refuses a setting the platform's `ENDPOINTS` entry does not name, so
    every setting an adapter reads has a config key (and no key is silently ignored)."""
    for platform in PLATFORM_IDS:
        settings = settings_for(platform, {})
        for key in ("base_url", "upload_url", "auth_url", "api_version", "poll_interval"):
            if key in ENDPOINTS[platform]:
                getattr(settings, key)
            else:
                with pytest.raises(AttributeError):
                    getattr(settings, key)


@pytest.fixture(params=IMPLEMENTED)
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_success_gives_id_and_url(platform: str, media_server: MediaServer) -> None:
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        draft = sample_draft(fake.contract_media, media_server)
        result = await r.adapter.publish(draft, r.job())
        assert isinstance(result, Published)
        assert result.post_id
        assert result.post_url.startswith("https://")
        assert len(fake.posts) == 1


async def test_expired_credentials_are_auth_expired(
    platform: str, media_server: MediaServer
) -> None:
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        fake.fail_next("auth", count=3)  # still failing after one refresh, where there is one
        with pytest.raises(AuthExpiredError):
            await r.adapter.publish(sample_draft(fake.contract_media, media_server), r.job())
        assert fake.posts == []


async def test_rate_limit_carries_the_delay(platform: str, media_server: MediaServer) -> None:
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        fake.fail_next("rate_limit", retry_after=120)
        with pytest.raises(RateLimitedError) as info:
            await r.adapter.publish(sample_draft(fake.contract_media, media_server), r.job())
        assert info.value.retryable
        assert info.value.retry_after is not None
        assert 100 <= info.value.retry_after <= 125
        assert fake.posts == []


async def test_server_error_is_unavailable(platform: str, media_server: MediaServer) -> None:
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        fake.fail_next("unavailable")
        with pytest.raises(UnavailableError) as info:
            await r.adapter.publish(sample_draft(fake.contract_media, media_server), r.job())
        assert info.value.retryable
        assert fake.posts == []


async def test_rejection_carries_the_platform_reason(
    platform: str, media_server: MediaServer
) -> None:
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        fake.fail_next("reject")
        with pytest.raises(RejectedError) as info:
            await r.adapter.publish(sample_draft(fake.contract_media, media_server), r.job())
        assert not info.value.retryable
        assert info.value.message and "HTTP 4" not in info.value.message
        assert fake.posts == []


async def test_lost_answer_never_posts_twice(platform: str, media_server: MediaServer) -> None:
    """The post is created but the answer is lost: recover() or a safe resend, never two posts."""
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        draft = sample_draft(fake.contract_media, media_server)
        first_job = r.job()
        fake.fail_next("drop")
        try:
            first: Published | None = await r.adapter.publish(draft, first_job)
        except (OutcomeUnknownError, UnavailableError):
            first = None
        if first is None:
            adapter = r.new_adapter()
            job = r.job(attempt=2, state=dict(first_job.state))
            try:
                found = await adapter.recover(draft, job)
            except OutcomeUnknownError:
                found = None
                assert len(fake.posts) == 1
            else:
                if found is None:  # the adapter says re-sending is safe (idempotent create)
                    found = await adapter.publish(draft, job)
                assert found.post_id
        assert len(fake.posts) == 1


def test_measure_agrees_with_the_limits(platform: str) -> None:
    cls = ADAPTERS[platform]
    limit = cls.limits.max_chars
    assert cls.measure("a" * limit) == limit
    at_limit = cls.check(Draft("a" * limit), cls.limits)
    over = cls.check(Draft("a" * (limit + 1)), cls.limits)
    assert not [p for p in at_limit if "characters" in p]
    assert [p for p in over if "characters" in p]


#: adapters whose recover() finds a post by reading a listing (timeline, feed, finder);
#: the others look the post up by a key they chose or were given (Bluesky's record key,
#: a Meta container's status, TikTok's publish_id, YouTube's upload session)
LISTING_LOOKUP = ["facebook", "linkedin", "mastodon", "twitter"]


@pytest.mark.parametrize("platform", LISTING_LOOKUP)
async def test_late_listed_lost_answer_is_found_not_sent_again(
    platform: str, media_server: MediaServer
) -> None:
    """The post is made, the answer is lost, and the platform lists the post only some
    seconds later: recover() must wait for the listing (bounded), never send again."""
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        fake.clock = r.time.clock  # one virtual clock: the adapter's waits move it
        fake.list_delay = 20.0
        draft = sample_draft(fake.contract_media, media_server)
        first_job = r.job()
        fake.fail_next("drop")
        with pytest.raises((OutcomeUnknownError, UnavailableError)):
            await r.adapter.publish(draft, first_job)
        assert len(fake.posts) == 1
        adapter = r.new_adapter()  # as after a restart
        job = r.job(attempt=2, state=dict(first_job.state))
        found = await adapter.recover(draft, job)
        if found is None:  # the adapter says re-sending is safe (an idempotent create)
            found = await adapter.publish(draft, job)
        assert len(fake.posts) == 1
        assert found.post_id == fake.posts[0]["id"]


async def test_an_unknown_option_is_refused_before_any_request(
    platform: str, media_server: MediaServer
) -> None:
    """Account settings are the adapter's `Options`: a typo is an error, never ignored."""
    async with fake_class(platform)() as fake, rig(platform, fake) as r:
        r.account.settings = {"no_such_option": True}
        sent = len(fake.requests)
        for step in (
            r.adapter.verify(),
            r.adapter.publish(sample_draft(fake.contract_media, media_server), r.job()),
        ):
            with pytest.raises(RejectedError) as info:
                await step
            assert "account settings" in info.value.message
            assert "no_such_option" in info.value.message
        assert len(fake.requests) == sent
        assert fake.posts == []
