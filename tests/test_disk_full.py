"""Disk full (issue 9, point 5): a clear 503, nothing lost, and publishing carries on
once there is space again, without a restart. See tests/diskfull.py for how."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from octopost.models import Post, PostStatus, utcnow
from octopost.services import build_services
from tests import diskfull
from tests.helpers import Api, eventually, make_config, running_api


async def test_a_write_on_a_full_disk_is_a_503_and_loses_nothing(api: Api) -> None:
    kept = (await api.post("/v1/posts", {"content": "stored", "platforms": ["bluesky"]})).json()
    db = api.services.store.db
    await diskfull.fill(db)
    resp = await api.post("/v1/posts", {"content": "no room", "platforms": ["bluesky"]})
    assert resp.status_code == 503
    error = resp.json()["error"]
    assert error["code"] == "storage_full"
    assert "disk" in error["message"] and "full" in error["message"]
    edit = await api.put(f"/v1/posts/{kept['id']}", {"content": "changed"})
    assert edit.status_code == 503
    assert (await api.get(f"/v1/posts/{kept['id']}")).json() == kept  # nothing lost
    await diskfull.free(db)
    assert (
        await api.post("/v1/posts", {"content": "room", "platforms": ["bluesky"]})
    ).status_code == 201
    assert (await api.get("/v1/posts")).json()["total"] == 2


async def test_a_publish_whose_writes_fail_is_resumed_by_the_sweep(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = await api.services.keys.create("sandbox", sandbox=True)
    pid = (
        await api.post("/v1/posts", {"content": "later", "platforms": ["bluesky"]}, key=key)
    ).json()["id"]
    services = api.services
    claimed = await services.store.posts.claim(
        pid, now=utcnow(), from_states=(PostStatus.DRAFT,), sandbox=True
    )
    assert claimed is not None
    await diskfull.fill(services.store.db)
    assert services.publisher.start(pid)
    task = services.publisher._tasks[pid]
    with caplog.at_level(logging.ERROR, "octopost"):
        await asyncio.wait([task])
    assert task.exception() is None  # logged, not a task that died with its error
    assert "resumed later" in caplog.text
    assert (await api.get(f"/v1/posts/{pid}", key=key)).json()["status"] == "publishing"
    await diskfull.free(services.store.db)
    await services.scheduler.sweep()  # the periodic sweep, not a restart
    done = await api.wait_status(pid, {"published", "failed"}, key=key)
    assert done["status"] == "published"


async def _scheduled(services, when) -> str:  # type: ignore[no-untyped-def]
    now = utcnow()
    post = Post(
        id=f"post_due{int(now.timestamp() * 1000)}",
        content="due",
        platforms=["bluesky"],
        status=PostStatus.SCHEDULED,
        scheduled_for=when,
        media=None,
        created_at=now,
        updated_at=now,
        published_at=None,
        sandbox=True,
    )
    await services.store.posts.insert(post)
    return post.id


async def test_start_up_survives_a_failing_claim(tmp_path: Path) -> None:
    services = await build_services(make_config(tmp_path))
    try:
        pid = await _scheduled(services, utcnow() - timedelta(seconds=1))
        await diskfull.fill(services.store.db)
        await services.start_background()  # the due post's claim fails: logged, not fatal
        post = await services.store.posts.get(pid)
        assert post is not None and post.status is PostStatus.SCHEDULED
        await diskfull.free(services.store.db)
        assert await services.scheduler.sweep() == 1
        await services.publisher.wait_idle(10)
        post = await services.store.posts.get(pid)
        assert post is not None and post.status is PostStatus.PUBLISHED
    finally:
        await services.close()


async def test_the_sweep_claims_a_post_whose_timer_claim_failed(tmp_path: Path) -> None:
    interval = 1.0
    config = make_config(tmp_path, OCTOPOST_SCHEDULER_SWEEP_INTERVAL=str(interval))
    async with running_api(config) as api:
        services = api.services
        pid = await _scheduled(services, utcnow() + timedelta(milliseconds=500))
        post = await services.store.posts.get(pid)
        await diskfull.fill(services.store.db)
        await services.scheduler.sync(post, pid)  # its timer, as the API arms it

        assert services.scheduler.next_wake() is not None

        async def fired() -> bool:
            return services.scheduler.next_wake() is None

        await eventually(fired)  # the timer fired; its claim failed (disk full): it is off
        stored = await services.store.posts.get(pid)
        assert stored is not None and stored.status is PostStatus.SCHEDULED
        await diskfull.free(services.store.db)
        freed = asyncio.get_running_loop().time()

        async def claimed() -> bool:
            found = await services.store.posts.get(pid)
            return found is not None and found.status is not PostStatus.SCHEDULED

        await eventually(claimed, timeout=interval + 5)
        # within one sweep interval of the space coming back (plus a margin for a busy machine)
        assert asyncio.get_running_loop().time() - freed <= interval + 5
