"""Never falsely failed: what earlier attempts may have left on the platform is asked
about before a delivery ends as a failure, and a retry keeps it (issue 9, points 1-3)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes
from tests.test_publishing import RecordingSleep, publish


async def test_last_attempt_lost_after_sending_is_found_not_failed(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes:
        fake = fakes["mastodon"]
        config = make_config(tmp_path, **platform_env([fake]))
        async with running_api(config, sleep=RecordingSleep()) as api:
            await connect(api, fake)
            fake.fail_next("unavailable", count=3)
            fake.fail_next("drop")  # the 4th and last attempt creates the status, then drops
            done = await publish(api, {"content": "live after all", "platforms": ["mastodon"]})
    result = done["platform_results"]["mastodon"]
    assert done["status"] == "published", done
    assert result["success"] and result["attempts"] == 4
    assert len(fake.posts) == 1 and result["post_id"] == fake.posts[0]["id"]


async def test_error_after_commit_on_the_last_attempt_is_found(tmp_path: Path) -> None:
    async with started_fakes("linkedin") as fakes:
        fake = fakes["linkedin"]
        config = make_config(tmp_path, **platform_env([fake]))
        async with running_api(config, sleep=RecordingSleep()) as api:
            await connect(api, fake)
            fake.fail_next("unavailable", count=3)
            fake.fail_next("error_after_commit")
            done = await publish(api, {"content": "committed", "platforms": ["linkedin"]})
    assert done["status"] == "published", done
    assert len(fake.posts) == 1
    assert done["platform_results"]["linkedin"]["post_id"] == fake.posts[0]["id"]


async def test_unconfirmed_is_unknown_and_a_retry_adopts_the_live_post(tmp_path: Path) -> None:
    async with started_fakes("linkedin") as fakes:
        fake = fakes["linkedin"]
        fake.can_read_posts = False  # no r_member_social: recover() cannot look
        config = make_config(tmp_path, OCTOPOST_PUBLISHING_MAX_ATTEMPTS="1", **platform_env([fake]))
        async with running_api(config, sleep=RecordingSleep()) as api:
            await connect(api, fake)
            fake.fail_next("error_after_commit")
            done = await publish(api, {"content": "is it there?", "platforms": ["linkedin"]})
            failed = done["platform_results"]["linkedin"]
            assert done["status"] == "failed"
            assert failed["error_category"] == "unknown"
            assert "may or may not exist" in failed["error"]
            assert len(fake.posts) == 1  # it is live

            assert (await api.post(f"/v1/posts/{done['id']}/retry")).status_code == 202
            again = await api.wait_status(done["id"], {"published", "failed"})
    # The retry kept the first attempt's checkpoint: LinkedIn's DUPLICATE_POST names the
    # post the first attempt made, and it is adopted instead of failing as a duplicate.
    assert again["status"] == "published", again
    assert again["platform_results"]["linkedin"]["post_id"] == fake.posts[0]["id"]
    assert len(fake.posts) == 1


async def test_a_retry_gets_a_full_attempt_budget(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes:
        fake = fakes["mastodon"]
        config = make_config(tmp_path, **platform_env([fake]))
        async with running_api(config, sleep=RecordingSleep()) as api:
            await connect(api, fake)
            fake.fail_next("unavailable", count=4)
            done = await publish(api, {"content": "stubborn", "platforms": ["mastodon"]})
            first = done["platform_results"]["mastodon"]
            assert done["status"] == "failed" and first["attempts"] == 4
            assert first["error_category"] == "platform"  # 503s: nothing reached it

            fake.fail_next("unavailable")  # one transient error on the retry
            assert (await api.post(f"/v1/posts/{done['id']}/retry")).status_code == 202
            again = await api.wait_status(done["id"], {"published", "failed"})
    result = again["platform_results"]["mastodon"]
    assert again["status"] == "published", again
    assert result["attempts"] == 6  # the total; the retry had its own four
    assert len(fake.posts) == 1
