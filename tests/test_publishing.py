"""Publishing end to end through the HTTP API against the Mastodon and Bluesky fakes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.fakes.media import MediaServer
from tests.helpers import Api, eventually, make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes


class RecordingSleep:
    """Backoff sleeps are recorded and skipped: retry tests take no wall time."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def publish(api: Api, body: dict) -> dict:  # type: ignore[type-arg]
    pid = (await api.post("/v1/posts", body)).json()["id"]
    resp = await api.post(f"/v1/posts/{pid}/publish")
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "publishing"
    return await api.wait_status(pid, {"published", "failed"})


async def test_accounts_connect_list_replace_delete(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes, running_api(make_config(tmp_path)) as api:
        fake = fakes["mastodon"]
        account = await connect(api, fake)
        assert account["id"].startswith("acc_")
        assert account["platform"] == "mastodon" and account["username"] == "alice"
        assert account["status"] == "active" and account["display_name"] == "Alice"
        assert fake.TOKEN not in str(account)
        assert (await api.get(f"/v1/accounts/{account['id']}")).json() == account
        again = await connect(api, fake)
        listed = (await api.get("/v1/accounts")).json()["accounts"]
        assert [a["id"] for a in listed] == [again["id"]]  # one account per platform
        bad = await api.post(
            "/v1/accounts",
            {
                "platform": "mastodon",
                "credentials": {"instance_url": fake.url, "access_token": "wrong"},
            },
        )
        assert bad.status_code == 422
        assert "The access token is invalid" in bad.json()["error"]["message"]
        missing = await api.post(
            "/v1/accounts", {"platform": "mastodon", "credentials": {"instance_url": fake.url}}
        )
        assert missing.status_code == 422 and "access_token" in missing.text
        assert (
            await api.post("/v1/accounts", {"platform": "orkut", "credentials": {}})
        ).status_code == 422
        _, sandbox = await api.services.keys.create("s", sandbox=True)
        assert (
            await api.post(
                "/v1/accounts",
                {"platform": "mastodon", "credentials": fake.credentials()},
                key=sandbox,
            )
        ).status_code == 403
        assert (await api.delete(f"/v1/accounts/{again['id']}")).status_code == 204
        assert (await api.get("/v1/accounts")).json()["accounts"] == []
    db = (
        (tmp_path / "octopost.db").read_bytes() + (tmp_path / "octopost.db-wal").read_bytes()
        if (tmp_path / "octopost.db-wal").exists()
        else (tmp_path / "octopost.db").read_bytes()
    )
    assert fake.TOKEN.encode() not in db


async def test_publish_text_and_images_end_to_end(
    tmp_path: Path, media_server: MediaServer
) -> None:
    async with (
        started_fakes("mastodon", "bluesky") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        await connect(api, fakes["mastodon"])
        await connect(api, fakes["bluesky"])
        done = await publish(
            api, {"content": "Hello fediverse and sky", "platforms": ["mastodon", "bluesky"]}
        )
        assert done["status"] == "published" and done["published_at"]
        results = done["platform_results"]
        assert list(results) == ["mastodon", "bluesky"]
        mastodon = results["mastodon"]
        assert mastodon["success"] and mastodon["attempts"] == 1
        assert mastodon["post_url"] == fakes["mastodon"].posts[0]["url"]
        assert results["bluesky"]["post_id"].startswith("at://")
        assert fakes["mastodon"].posts[0]["idempotency_key"]  # every status create carries one

        images = {
            "images": [
                {"url": media_server.at("image.jpg"), "alt_text": "A red square"},
                {"url": media_server.at("image.png"), "alt_text": "A blue square"},
            ]
        }
        done = await publish(
            api,
            {"content": "With pictures", "platforms": ["mastodon", "bluesky"], "media": images},
        )
        assert done["status"] == "published", done
        descriptions = [m["description"] for m in fakes["mastodon"].posts[1]["media"]]
        assert descriptions == ["A red square", "A blue square"]
        # Both platforms need the bytes: each URL was downloaded once for the publish.
        assert media_server.hits["image.jpg"] == 1 and media_server.hits["image.png"] == 1


async def test_every_target_is_checked_before_anything_is_sent(tmp_path: Path) -> None:
    async with (
        started_fakes("mastodon", max_characters=50) as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        await connect(api, fakes["mastodon"])
        pid = (
            await api.post(
                "/v1/posts",
                {"content": "x" * 60, "platforms": ["mastodon", "bluesky", "youtube"]},
            )
        ).json()["id"]
        resp = await api.post(f"/v1/posts/{pid}/publish")
        assert resp.status_code == 422
        details = {d["field"]: d for d in resp.json()["error"]["details"]}
        assert set(details) == {"platforms.mastodon", "platforms.bluesky", "platforms.youtube"}
        assert details["platforms.mastodon"]["meta"] == {
            "length": 60,
            "limit": 50,
            "account": "active",
        }
        assert "No Bluesky account is connected" in details["platforms.bluesky"]["message"]
        assert "video" in details["platforms.youtube"]["message"]
        assert fakes["mastodon"].calls("POST", "/api/v1/statuses") == []
        assert (await api.get(f"/v1/posts/{pid}")).json()["status"] == "draft"


async def test_transient_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    sleep = RecordingSleep()
    async with (
        started_fakes("mastodon") as fakes,
        running_api(make_config(tmp_path), sleep=sleep) as api,
    ):
        fake = fakes["mastodon"]
        await connect(api, fake)
        fake.fail_next("unavailable", count=2)
        done = await publish(api, {"content": "third time lucky", "platforms": ["mastodon"]})
        assert done["status"] == "published"
        assert done["platform_results"]["mastodon"]["attempts"] == 3
        assert len(fake.posts) == 1
        assert len(sleep.delays) == 2 and all(d >= 0 for d in sleep.delays)


async def test_media_still_processing_is_sent_again_by_the_publisher(
    tmp_path: Path, media_server: MediaServer
) -> None:
    """Mastodon refuses a status whose media are not processed yet: the adapter reports it
    as a retryable wait and the publisher's loop (not one in the adapter) sends again."""
    sleep = RecordingSleep()
    async with (
        started_fakes("mastodon") as fakes,
        running_api(make_config(tmp_path), sleep=sleep) as api,
    ):
        fake = fakes["mastodon"]
        await connect(api, fake)
        fake.not_ready_creates = 2
        media = {"images": [{"url": media_server.at("image.jpg"), "alt_text": "A red square"}]}
        done = await publish(api, {"content": "race", "platforms": ["mastodon"], "media": media})
        assert done["status"] == "published", done
        assert done["platform_results"]["mastodon"]["attempts"] == 3
        creates = fake.calls("POST", "/api/v1/statuses")
        assert len(creates) == 3 and len({c.headers["Idempotency-Key"] for c in creates}) == 1
        assert len(fake.posts) == 1 and len(sleep.delays) == 2

        fake.not_ready_creates = 1000  # never ready: bounded by publishing.max_attempts
        done = await publish(api, {"content": "never", "platforms": ["mastodon"], "media": media})
        result = done["platform_results"]["mastodon"]
        assert done["status"] == "failed" and result["retryable"] is True
        assert result["error_category"] == "platform" and result["attempts"] == 4
        assert len(fake.posts) == 1


async def test_rate_limit_waits_for_the_platform_reset(tmp_path: Path) -> None:
    sleep = RecordingSleep()
    async with (
        started_fakes("mastodon") as fakes,
        running_api(make_config(tmp_path), sleep=sleep) as api,
    ):
        await connect(api, fakes["mastodon"])
        fakes["mastodon"].fail_next("rate_limit", retry_after=40)
        done = await publish(api, {"content": "patience", "platforms": ["mastodon"]})
        assert done["status"] == "published"
        assert 38 <= sleep.delays[0] <= 42


async def test_rate_limit_beyond_the_bound_fails_as_retryable(tmp_path: Path) -> None:
    config = make_config(tmp_path, OCTOPOST_PUBLISHING_MAX_RETRY_DELAY="10")
    async with (
        started_fakes("mastodon") as fakes,
        running_api(config, sleep=RecordingSleep()) as api,
    ):
        await connect(api, fakes["mastodon"])
        fakes["mastodon"].fail_next("rate_limit", retry_after=3600)
        done = await publish(api, {"content": "later", "platforms": ["mastodon"]})
        result = done["platform_results"]["mastodon"]
        assert done["status"] == "failed"
        assert result["error_category"] == "rate_limited" and result["retryable"] is True
        assert fakes["mastodon"].posts == []


async def test_revoked_token_needs_reconnect(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes, running_api(make_config(tmp_path)) as api:
        account = await connect(api, fakes["mastodon"])
        fakes["mastodon"].revoke()
        done = await publish(api, {"content": "nope", "platforms": ["mastodon"]})
        result = done["platform_results"]["mastodon"]
        assert done["status"] == "failed"
        assert result == {
            "success": False,
            "error": "Token expired. Reconnect your Mastodon account.",
            "error_category": "auth",
            "retryable": False,
            "attempts": 1,
        }
        assert (await api.get(f"/v1/accounts/{account['id']}")).json()[
            "status"
        ] == "reauth_required"
        pid = (await api.post("/v1/posts", {"content": "again", "platforms": ["mastodon"]})).json()[
            "id"
        ]
        resp = await api.post(f"/v1/posts/{pid}/publish")
        assert resp.status_code == 422
        assert "Reconnect your Mastodon account" in resp.text


async def test_lost_answer_is_resent_safely_with_the_idempotency_key(tmp_path: Path) -> None:
    async with started_fakes("mastodon") as fakes, running_api(make_config(tmp_path)) as api:
        await connect(api, fakes["mastodon"])
        fakes["mastodon"].fail_next("drop")
        done = await publish(api, {"content": "said once", "platforms": ["mastodon"]})
        assert done["status"] == "published"
        assert len(fakes["mastodon"].posts) == 1
        assert done["platform_results"]["mastodon"]["post_id"] == fakes["mastodon"].posts[0]["id"]


async def test_results_appear_as_each_platform_finishes(tmp_path: Path) -> None:
    async with started_fakes("mastodon", "bluesky") as fakes:
        fakes["mastodon"].delay = 1.5
        async with running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api:
            await connect(api, fakes["mastodon"])
            await connect(api, fakes["bluesky"])
            pid = (
                await api.post(
                    "/v1/posts",
                    {"content": "one then the other", "platforms": ["mastodon", "bluesky"]},
                )
            ).json()["id"]
            await api.post(f"/v1/posts/{pid}/publish")

            async def bluesky_done() -> bool:
                body = (await api.get(f"/v1/posts/{pid}")).json()
                return bool(body["platform_results"]) and "bluesky" in body["platform_results"]

            await eventually(bluesky_done)
            midway = (await api.get(f"/v1/posts/{pid}")).json()
            assert midway["status"] == "publishing"
            assert list(midway["platform_results"]) == ["bluesky"]
            assert (await api.delete(f"/v1/posts/{pid}")).status_code == 409
            done = await api.wait_status(pid, {"published", "failed"})
            assert list(done["platform_results"]) == ["mastodon", "bluesky"]


async def test_retry_sends_only_what_failed(tmp_path: Path) -> None:
    async with (
        started_fakes("mastodon", "bluesky") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        await connect(api, fakes["mastodon"])
        await connect(api, fakes["bluesky"])
        fakes["bluesky"].fail_next("reject")
        done = await publish(api, {"content": "partly", "platforms": ["mastodon", "bluesky"]})
        assert done["status"] == "published"
        failed = done["platform_results"]["bluesky"]
        assert failed["success"] is False and failed["error_category"] == "validation"
        assert failed["retryable"] is False and failed["error"]
        pid = done["id"]
        bad = await api.post(f"/v1/posts/{pid}/retry", {"platforms": ["mastodon"]})
        assert bad.status_code == 422  # mastodon did not fail
        resp = await api.post(f"/v1/posts/{pid}/retry")
        assert resp.status_code == 202
        again = await api.wait_status(pid, {"published", "failed"})
        assert again["platform_results"]["bluesky"]["success"] is True
        assert again["platform_results"]["mastodon"] == done["platform_results"]["mastodon"]
        assert len(fakes["mastodon"].posts) == 1 and len(fakes["bluesky"].posts) == 1
        assert (await api.post(f"/v1/posts/{pid}/retry")).status_code == 409  # nothing failed now


async def test_a_delivery_waiting_to_retry_does_not_hold_a_slot(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        if seconds >= 1:  # the rate-limit wait: hold it until the test says so
            await release.wait()

    async with started_fakes("mastodon", "bluesky") as fakes:
        env = {"OCTOPOST_PUBLISHING_MAX_IN_FLIGHT": "1", **platform_env(list(fakes.values()))}
        async with running_api(make_config(tmp_path, **env), sleep=held_sleep) as api:
            await connect(api, fakes["mastodon"])
            await connect(api, fakes["bluesky"])
            fakes["mastodon"].fail_next("rate_limit", retry_after=60)
            waiting = (
                await api.post("/v1/posts", {"content": "waits", "platforms": ["mastodon"]})
            ).json()["id"]
            await api.post(f"/v1/posts/{waiting}/publish")
            await eventually(lambda: _has_call(fakes["mastodon"]))
            other = await publish(api, {"content": "goes first", "platforms": ["bluesky"]})
            assert other["status"] == "published"  # not stuck behind the waiting delivery
            assert (await api.get(f"/v1/posts/{waiting}")).json()["status"] == "publishing"
            release.set()
            done = await api.wait_status(waiting, {"published", "failed"})
            assert (
                done["status"] == "published"
                and done["platform_results"]["mastodon"]["attempts"] == 2
            )


async def _has_call(fake) -> bool:  # type: ignore[no-untyped-def]
    return bool(fake.calls("POST", "/api/v1/statuses"))
