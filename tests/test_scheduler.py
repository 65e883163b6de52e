"""Scheduling: exact timers, atomic claims, missed posts, sandbox publishing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from octopost import scheduler as scheduler_module
from octopost.keys import random_id
from octopost.models import Post, PostStatus, iso
from octopost.web.requestlog import current_request_id
from tests.helpers import Api, make_config, running_api


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def sandbox_key(api: Api) -> str:
    _, secret = await api.services.keys.create("sandbox", sandbox=True)
    return secret


async def test_scheduled_post_publishes_on_time(api: Api) -> None:
    key = await sandbox_key(api)
    when = datetime.now(UTC) + timedelta(milliseconds=800)
    created = (
        await api.post(
            "/v1/posts",
            {
                "content": "on time",
                "platforms": ["mastodon", "bluesky"],
                "scheduled_for": iso(when),
            },
            key=key,
        )
    ).json()
    assert created["status"] == "scheduled"
    done = await api.wait_status(created["id"], {"published", "failed"}, timeout=10, key=key)
    assert done["status"] == "published"
    assert api.services.scheduler.lateness, "the timer claimed the post"
    assert 0 <= api.services.scheduler.lateness[-1] < 1.0
    for result in done["platform_results"].values():
        assert result["success"] and result["simulated"]


async def test_reschedule_unschedule_and_delete_take_effect_at_once(api: Api) -> None:
    scheduler = api.services.scheduler
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    pid = (
        await api.post(
            "/v1/posts", {"content": "x", "platforms": ["bluesky"], "scheduled_for": iso(first)}
        )
    ).json()["id"]
    # one timer, at the earliest scheduled post
    assert scheduler.next_wake() == first
    moved = first + timedelta(hours=1)
    await api.put(f"/v1/posts/{pid}", {"scheduled_for": iso(moved)})
    assert scheduler.next_wake() == moved
    await api.put(f"/v1/posts/{pid}", {"scheduled_for": None})
    assert scheduler.next_wake() is None
    await api.put(f"/v1/posts/{pid}", {"scheduled_for": iso(first)})
    assert scheduler.next_wake() == first
    assert (await api.delete(f"/v1/posts/{pid}")).status_code == 204
    assert scheduler.next_wake() is None


async def test_two_triggers_and_a_sweep_publish_once(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) + timedelta(days=1))
    async with running_api(make_config(tmp_path), clock=clock) as api:
        key = await sandbox_key(api)
        when = clock.now + timedelta(seconds=1)
        pid = (
            await api.post(
                "/v1/posts",
                {"content": "once", "platforms": ["twitter"], "scheduled_for": iso(when)},
                key=key,
            )
        ).json()["id"]
        clock.advance(2)
        scheduler = api.services.scheduler
        wins = await asyncio.gather(scheduler.fire(pid), scheduler.fire(pid), scheduler.sweep())
        assert sum(int(w) for w in wins) == 1
        done = await api.wait_status(pid, {"published", "failed"}, key=key)
        assert done["platform_results"]["twitter"]["attempts"] == 1


async def test_posts_missed_while_down_publish_or_fail_by_grace(tmp_path: Path) -> None:
    config = make_config(tmp_path, OCTOPOST_SCHEDULER_MISSED_GRACE="600")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    clock = FakeClock(start)
    async with running_api(config, clock=clock) as api:
        key = await sandbox_key(api)

        async def schedule(content: str, at: datetime) -> str:
            body = {"content": content, "platforms": ["bluesky"], "scheduled_for": iso(at)}
            return str((await api.post("/v1/posts", body, key=key)).json()["id"])

        within = await schedule("late by 300 s", start + timedelta(seconds=700))
        beyond = await schedule("late by 990 s", start + timedelta(seconds=10))
    clock.now = start + timedelta(seconds=1000)  # the service was down meanwhile
    async with running_api(config, clock=clock) as api:
        published = await api.wait_status(within, {"published", "failed"}, key=key)
        missed = await api.wait_status(beyond, {"published", "failed"}, key=key)
    assert published["status"] == "published"
    assert missed["status"] == "failed"
    result = missed["platform_results"]["bluesky"]
    assert "missed its scheduled time" in result["error"] and result["success"] is False


async def test_sandbox_publish_runs_the_whole_flow_without_accounts(api: Api) -> None:
    key = await sandbox_key(api)
    pid = (
        await api.post(
            "/v1/posts",
            {"content": "try me", "platforms": ["twitter", "bluesky", "linkedin", "threads"]},
            key=key,
        )
    ).json()["id"]
    assert (
        await api.get(f"/v1/posts/{pid}")
    ).status_code == 404  # live keys do not see sandbox posts
    resp = await api.post(f"/v1/posts/{pid}/publish", key=key)
    assert resp.status_code == 202
    assert resp.json()["status"] == "publishing"
    done = await api.wait_status(pid, {"published", "failed"}, key=key)
    assert done["status"] == "published" and done["published_at"]
    assert set(done["platform_results"]) == {"twitter", "bluesky", "linkedin", "threads"}
    for platform, result in done["platform_results"].items():
        assert result["success"] and result["simulated"], platform
        assert result["post_id"] and result["post_url"].startswith("https://")
    again = await api.post(f"/v1/posts/{pid}/publish", key=key)
    assert again.status_code == 409


async def test_sandbox_publish_still_checks_every_platform(api: Api) -> None:
    key = await sandbox_key(api)
    pid = (
        await api.post(
            "/v1/posts",
            {"content": "x" * 400, "platforms": ["twitter", "bluesky", "linkedin", "youtube"]},
            key=key,
        )
    ).json()["id"]
    resp = await api.post(f"/v1/posts/{pid}/publish", key=key)
    assert resp.status_code == 422
    failing = {d["field"] for d in resp.json()["error"]["details"]}
    assert failing == {"platforms.twitter", "platforms.bluesky", "platforms.youtube"}
    body = (await api.get(f"/v1/posts/{pid}", key=key)).json()
    assert body["status"] == "draft" and body["platform_results"] is None


async def test_a_burst_due_at_once_is_claimed_in_batches_and_published_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "CLAIM_BATCH", 7)
    now = datetime.now(UTC)
    due = now - timedelta(seconds=1)
    posts = [
        Post(
            random_id("post_"),
            f"burst {i}",
            ["mastodon", "bluesky"],
            PostStatus.SCHEDULED,
            due,
            None,
            now,
            now,
            sandbox=True,
        )
        for i in range(30)
    ]
    await api.services.store.posts.insert_many(posts)
    scheduler = api.services.scheduler
    wins = await asyncio.gather(scheduler.drain(), scheduler.sweep())
    assert sum(wins) == 30  # each post claimed once, by one of them
    assert await api.services.publisher.wait_idle(30)
    for post in posts:
        got = await api.services.store.posts.get(post.id)
        assert got is not None and got.status is PostStatus.PUBLISHED
        assert [d.attempts for d in got.deliveries] == [1, 1]
    assert scheduler.next_wake() is None


async def test_a_scheduled_publish_does_not_log_the_request_that_scheduled_it(api: Api) -> None:
    """The timer is armed by the request that created the post; the publish at the due
    time is not that request and its log lines must not carry its id."""
    seen: list[tuple[str, str]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((current_request_id() or "-", record.getMessage()))

    capture = Capture()
    logger = logging.getLogger("octopost.publisher")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(capture)
    try:
        key = await sandbox_key(api)
        when = datetime.now(UTC) + timedelta(milliseconds=500)
        body = {"content": "later", "platforms": ["mastodon"], "scheduled_for": iso(when)}
        headers = {"X-Request-ID": "the-scheduling-request"}
        created = (await api.post("/v1/posts", body, key=key, headers=headers)).json()
        done = await api.wait_status(created["id"], {"published", "failed"}, timeout=10, key=key)
        assert done["status"] == "published"
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    publishing = [rid for rid, message in seen if created["id"] in message]
    assert publishing, seen
    assert "the-scheduling-request" not in publishing


async def test_timers_asked_for_before_apscheduler_loads_are_armed_once_it_has(api: Api) -> None:
    """APScheduler loads in a worker thread after start (not in the way of the first
    answer): the due timer and the periodic jobs asked for before are armed then."""
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    body = {"content": "later", "platforms": ["bluesky"], "scheduled_for": iso(due)}
    assert (await api.post("/v1/posts", body)).status_code == 201
    services = api.services
    fresh = scheduler_module.Scheduler(
        services.store, services.publisher, services.config.scheduler
    )
    await fresh.sync(None, "any")
    fresh.every(60, services.housekeeping, "test-periodic")
    assert fresh.next_wake() == due and fresh.ready is None  # asked for, not loaded yet
    await fresh.start()
    assert fresh.ready is not None
    await fresh.ready
    try:
        assert fresh._aps is not None
        timer = fresh._aps.get_job(scheduler_module.DUE_JOB)
        assert timer is not None and timer.next_run_time == due
        periodic = fresh._aps.get_job("test-periodic")
        assert periodic is not None and periodic.trigger.interval.total_seconds() == 60
        assert fresh._aps.get_job(scheduler_module.SWEEP_JOB) is not None
    finally:
        fresh.shutdown()
