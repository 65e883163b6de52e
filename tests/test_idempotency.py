"""Idempotency keys on create and publish, and the dry-run endpoint."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from octopost.models import utcnow
from octopost.web.idempotency import WAIT_FOR_FIRST
from tests.helpers import Api, make_config, running_api


async def test_same_key_same_body_replays_the_first_response(api: Api) -> None:
    body = {"content": "once only", "platforms": ["bluesky"]}
    headers = {"Idempotency-Key": "k-1"}
    first = await api.post("/v1/posts", body, headers=headers)
    again = await api.post("/v1/posts", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert (await api.get("/v1/posts")).json()["total"] == 1


async def test_same_key_different_body_is_422(api: Api) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await api.post("/v1/posts", {"content": "a", "platforms": ["bluesky"]}, headers=headers)
    resp = await api.post("/v1/posts", {"content": "b", "platforms": ["bluesky"]}, headers=headers)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "idempotency_key_reused"
    assert (await api.get("/v1/posts")).json()["total"] == 1


async def test_concurrent_duplicates_make_one_post(api: Api) -> None:
    body = {"content": "racing", "platforms": ["twitter"]}
    answers = await asyncio.gather(
        *(api.post("/v1/posts", body, headers={"Idempotency-Key": "race"}) for _ in range(8))
    )
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert (await api.get("/v1/posts")).json()["total"] == 1


async def test_keys_are_per_api_key_and_validation_errors_replay(api: Api) -> None:
    _, other = await api.services.keys.create("other")
    body = {"content": "mine", "platforms": ["bluesky"]}
    a = await api.post("/v1/posts", body, headers={"Idempotency-Key": "shared"})
    b = await api.post("/v1/posts", body, headers={"Idempotency-Key": "shared"}, key=other)
    assert a.json()["id"] != b.json()["id"]
    bad = {"content": "", "platforms": ["bluesky"]}
    first = await api.post("/v1/posts", bad, headers={"Idempotency-Key": "bad"})
    second = await api.post("/v1/posts", bad, headers={"Idempotency-Key": "bad"})
    assert first.status_code == second.status_code == 422
    assert (
        await api.post("/v1/posts", body, headers={"Idempotency-Key": "x" * 300})
    ).status_code == 422


async def test_publish_with_a_key_is_not_a_conflict_on_repeat(api: Api) -> None:
    _, key = await api.services.keys.create("sandbox", sandbox=True)
    pid = (await api.post("/v1/posts", {"content": "p", "platforms": ["bluesky"]}, key=key)).json()[
        "id"
    ]
    first = await api.post(f"/v1/posts/{pid}/publish", headers={"Idempotency-Key": "pub"}, key=key)
    again = await api.post(f"/v1/posts/{pid}/publish", headers={"Idempotency-Key": "pub"}, key=key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert (
        await api.post(f"/v1/posts/{pid}/publish", key=key)
    ).status_code == 409  # without the key


async def test_dry_run_reports_each_platform_and_stores_nothing(api: Api) -> None:
    body = {
        "content": "x" * 290 + " https://example.com/a/very/long/path/that/counts/as/twenty/three",
        "platforms": ["twitter", "bluesky", "mastodon", "instagram"],
    }
    resp = await api.post("/v1/posts/validate", body)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["valid"] is False
    platforms = report["platforms"]
    assert set(platforms) == {"twitter", "bluesky", "mastodon", "instagram"}
    assert platforms["twitter"]["length"] == 290 + 1 + 23 and platforms["twitter"]["limit"] == 280
    assert not platforms["twitter"]["ok"]
    assert platforms["mastodon"]["account"] == "missing"
    assert any(
        "image or a video" in p or "media" in p.lower() for p in platforms["instagram"]["problems"]
    )
    assert (await api.get("/v1/posts")).json()["total"] == 0
    stored = (await api.post("/v1/posts", {"content": "short", "platforms": ["bluesky"]})).json()
    by_id = (
        await api.client.post(f"/v1/posts/validate?post_id={stored['id']}", headers=api.auth())
    ).json()
    assert by_id["platforms"]["bluesky"]["length"] == 5
    assert (
        await api.post("/v1/posts/validate", {"content": "x", "platforms": ["nope"]})
    ).status_code == 422
    assert (
        await api.client.post("/v1/posts/validate?post_id=post_missing", headers=api.auth())
    ).status_code == 404


async def test_sandbox_dry_run_needs_no_account(api: Api) -> None:
    _, key = await api.services.keys.create("sandbox", sandbox=True)
    report = (
        await api.post("/v1/posts/validate", {"content": "hi", "platforms": ["linkedin"]}, key=key)
    ).json()
    assert report == {
        "valid": True,
        "platforms": {"linkedin": {"ok": True, "length": 2, "limit": 3000, "account": "sandbox"}},
    }


async def test_a_reservation_left_by_a_dead_process_does_not_block_the_repeat(
    tmp_path: Path,
) -> None:
    """SIGKILL during a keyed request leaves a reservation with no response; after a
    restart the repeat runs at once instead of waiting and answering 409 (issue 9.4)."""
    config = make_config(tmp_path)
    body = {"content": "after the crash", "platforms": ["bluesky"]}
    async with running_api(config) as first:
        key, secret = await first.services.keys.create("client")
        # What the killed process left: the key reserved, the request never finished.
        assert (
            await first.services.store.idempotency.begin(key.id, "crash-1", b"x", utcnow()) is None
        )
    async with running_api(config) as second:
        started = time.monotonic()
        resp = await second.post(
            "/v1/posts", body, key=secret, headers={"Idempotency-Key": "crash-1"}
        )
        assert resp.status_code == 201, resp.text
        assert time.monotonic() - started < WAIT_FOR_FIRST / 3
        again = await second.post(
            "/v1/posts", body, key=secret, headers={"Idempotency-Key": "crash-1"}
        )
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["id"] == resp.json()["id"]
        assert (await second.get("/v1/posts", key=secret)).json()["total"] == 1
