"""Webhooks: signed deliveries from a durable outbox, retries, restarts, pings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from octopost.models import iso
from octopost.store import Store
from tests.fakes.receiver import Received, Receiver
from tests.helpers import Api, eventually, make_config, running_api
from tests.server import free_port

FAST = {
    "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05",
    "OCTOPOST_WEBHOOKS_BACKOFF_MAX": "0.2",
    "OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1",
}


@pytest.fixture
async def receiver():  # type: ignore[no-untyped-def]
    r = await Receiver().start()
    yield r
    await r.stop()


async def sandbox_key(api: Api) -> str:
    return (await api.services.keys.create("sandbox", sandbox=True))[1]


def verified(secret: str, item: Received) -> dict:
    """Check the signature with the Standard Webhooks reference library (not our code)."""
    return StandardWebhook(secret).verify(item.body, item.headers)  # type: ignore[no-any-return]


async def make_hook(
    api: Api, url: str, events: list[str], key: str | None = None
) -> tuple[str, str]:
    resp = await api.post(
        "/v1/webhooks", {"url": url, "events": events, "description": "test"}, key=key
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["secret"].startswith("whsec_")
    return body["id"], body["secret"]


async def test_crud_and_secret_shown_once(api: Api, receiver: Receiver) -> None:
    hook_id, secret = await make_hook(api, receiver.url, ["post.published"])
    got = (await api.get(f"/v1/webhooks/{hook_id}")).json()
    assert "secret" not in got and got["enabled"] is True and got["events"] == ["post.published"]
    listed = (await api.get("/v1/webhooks")).json()["webhooks"]
    assert [h["id"] for h in listed] == [hook_id] and secret not in str(listed)
    updated = (
        await api.put(
            f"/v1/webhooks/{hook_id}",
            {"enabled": False, "events": ["post.failed", "post.published"]},
        )
    ).json()
    assert updated["enabled"] is False and updated["events"] == ["post.failed", "post.published"]
    assert (
        await api.put(f"/v1/webhooks/{hook_id}", {"events": ["post.exploded"]})
    ).status_code == 422
    assert (await api.delete(f"/v1/webhooks/{hook_id}")).status_code == 204
    assert (await api.get(f"/v1/webhooks/{hook_id}")).status_code == 404
    assert (
        await api.post("/v1/webhooks", {"url": "ftp://x", "events": ["post.failed"]})
    ).status_code == 422
    assert (await api.post("/v1/webhooks", {"url": receiver.url, "events": []})).status_code == 422


async def test_private_urls_are_refused_unless_allowed(tmp_path: Path) -> None:
    config = make_config(tmp_path, OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS="false")
    async with running_api(config) as api:
        for url in (
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
        ):
            resp = await api.post("/v1/webhooks", {"url": url, "events": ["post.published"]})
            assert resp.status_code == 422, url
            assert resp.json()["error"]["details"][0]["field"] == "url"


async def test_published_event_is_signed_and_carries_the_post(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with running_api(make_config(tmp_path, **FAST)) as api:
        key = await sandbox_key(api)
        _, secret = await make_hook(api, receiver.url, ["post.published", "post.failed"], key=key)
        pid = (
            await api.post(
                "/v1/posts", {"content": "hook me", "platforms": ["bluesky", "mastodon"]}, key=key
            )
        ).json()["id"]
        await api.post(f"/v1/posts/{pid}/publish", key=key)
        final = await api.wait_status(pid, {"published"}, key=key)
        await eventually(lambda: _count(receiver, "post.published", 1))
    item = receiver.of_type("post.published")[0]
    payload = verified(secret, item)
    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert payload["id"] == item.headers["webhook-id"] and payload["id"].startswith("evt_")
    assert payload["type"] == "post.published"
    assert payload["data"]["post"] == final
    assert payload["data"]["failed_platforms"] == []
    assert sorted(payload["data"]["succeeded_platforms"]) == ["bluesky", "mastodon"]
    with pytest.raises(WebhookVerificationError):  # a tampered body fails verification
        StandardWebhook(secret).verify(item.body.replace(b"hook me", b"hacked"), item.headers)


async def _count(receiver: Receiver, event_type: str, n: int) -> bool:
    return len(receiver.of_type(event_type)) >= n


async def test_scheduled_and_failed_events(tmp_path: Path, receiver: Receiver) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    clock_now = [start]
    config = make_config(tmp_path, OCTOPOST_SCHEDULER_MISSED_GRACE="60", **FAST)
    async with running_api(config, clock=lambda: clock_now[0]) as api:
        _, secret = await make_hook(api, receiver.url, ["post.scheduled", "post.failed"])
        body = {
            "content": "nobody connected",
            "platforms": ["mastodon"],
            "scheduled_for": iso(start + timedelta(seconds=5)),
        }
        pid = (await api.post("/v1/posts", body)).json()["id"]
        await eventually(lambda: _count(receiver, "post.scheduled", 1))
        clock_now[0] = start + timedelta(seconds=6)
        assert await api.services.scheduler.fire(pid)
        failed = await api.wait_status(pid, {"failed", "published"})
        await eventually(lambda: _count(receiver, "post.failed", 1))
    assert failed["status"] == "failed"
    assert "No Mastodon account is connected" in failed["platform_results"]["mastodon"]["error"]
    payload = verified(secret, receiver.of_type("post.failed")[0])
    assert payload["data"]["failed_platforms"] == ["mastodon"]
    assert payload["data"]["post"]["id"] == pid
    assert (
        verified(secret, receiver.of_type("post.scheduled")[0])["data"]["post"]["status"]
        == "scheduled"
    )


async def test_receiver_down_then_up_gets_each_event_once(tmp_path: Path) -> None:
    port = free_port()
    async with running_api(make_config(tmp_path, **FAST)) as api:
        key = await sandbox_key(api)
        hook_id, secret = await make_hook(
            api, f"http://127.0.0.1:{port}/hook", ["post.published"], key=key
        )
        pid = (
            await api.post(
                "/v1/posts", {"content": "while down", "platforms": ["threads"]}, key=key
            )
        ).json()["id"]
        await api.post(f"/v1/posts/{pid}/publish", key=key)
        await api.wait_status(pid, {"published"}, key=key)

        async def failed_twice() -> bool:
            deliveries = (await api.get(f"/v1/webhooks/{hook_id}/deliveries", key=key)).json()[
                "deliveries"
            ]
            return bool(deliveries) and deliveries[0]["attempts"] >= 2

        await eventually(failed_twice)
        delivery = (await api.get(f"/v1/webhooks/{hook_id}/deliveries", key=key)).json()[
            "deliveries"
        ][0]
        assert delivery["status"] == "pending" and delivery["next_retry_at"]
        assert delivery["error"] and delivery["response_code"] is None
        receiver = await Receiver().start(port)
        try:
            receiver.answers.extend([500])  # one more failure with a status code
            await eventually(lambda: _count(receiver, "post.published", 1))
            await asyncio.sleep(0.5)  # give a duplicate every chance to show up
            assert len(receiver.received) == 1
            verified(secret, receiver.received[0])
            final = (await api.get(f"/v1/webhooks/{hook_id}/deliveries", key=key)).json()[
                "deliveries"
            ][0]
            assert final["status"] == "succeeded" and final["response_code"] == 200
            assert final["next_retry_at"] is None
            codes = [a["response_code"] for a in final["history"]]
            assert 500 in codes and codes[-1] == 200
        finally:
            await receiver.stop()


async def test_restart_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    # The receiver keeps its port throughout (a port freed and bound again later could
    # be taken by another process meanwhile); "down" answers 503 to everything.
    receiver = await Receiver().start()
    receiver.down = True
    config = make_config(tmp_path, **FAST)
    try:
        async with running_api(config) as api:
            key = await sandbox_key(api)
            hook_id, _ = await make_hook(api, receiver.url, ["post.published"], key=key)
            pid = (
                await api.post(
                    "/v1/posts", {"content": "outbox", "platforms": ["bluesky"]}, key=key
                )
            ).json()["id"]
            await api.post(f"/v1/posts/{pid}/publish", key=key)
            await api.wait_status(pid, {"published"}, key=key)
            await eventually(lambda: _tried(api, hook_id))
        # Stopped with the event undelivered. Start again with the receiver up.
        receiver.down = False
        async with running_api(config) as api:
            await eventually(lambda: _count(receiver, "post.published", 1))
            # Received is not yet recorded: stopping before that would (rightly) send it
            # again after the restart. Wait for the record, then restart.
            await eventually(lambda: _all_sent(api))
        async with running_api(config) as api:
            assert await _all_sent(api)
            assert await api.services.dispatcher.run_once() == 0  # nothing due, nothing leased
        assert len(receiver.received) == 1
        assert receiver.received[0].json()["data"]["post"]["id"] == pid
    finally:
        await receiver.stop()


async def _tried(api: Api, hook_id: str) -> bool:
    deliveries = (await api.services.store.webhooks.deliveries(hook_id, 10, 0))[0]
    return bool(deliveries) and deliveries[0].attempts >= 1


async def _all_sent(api: Api) -> bool:
    return await api.services.store.webhooks.next_due() is None


async def test_a_send_cut_by_shutdown_gives_its_lease_back(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.stall = 60.0  # the receiver holds the request past the shutdown
    config = make_config(tmp_path, **FAST, OCTOPOST_WEBHOOKS_TIMEOUT="90")
    async with running_api(config) as api:
        key = await sandbox_key(api)
        hook_id, _ = await make_hook(api, receiver.url, ["post.published"], key=key)
        pid = (
            await api.post("/v1/posts", {"content": "cut", "platforms": ["bluesky"]}, key=key)
        ).json()["id"]
        await api.post(f"/v1/posts/{pid}/publish", key=key)

        async def in_flight() -> bool:
            return receiver.arrived == 1

        await eventually(in_flight)
        stopped = datetime.now(UTC)
    store = await Store(config.database.path).open()  # what the stopped process left
    try:
        delivery = (await store.webhooks.deliveries(hook_id, 10, 0))[0][0]
    finally:
        await store.close()
    assert delivery.state == "pending"
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at <= stopped + timedelta(seconds=5)  # not the 120 s lease
    assert [a.error for a in delivery.history] == [
        "interrupted: Octopost shut down during the request"
    ]
    receiver.stall = 0.0
    async with running_api(config):
        await eventually(lambda: _count(receiver, "post.published", 1), timeout=5)


async def test_test_ping_sends_now_and_reports(api: Api, receiver: Receiver) -> None:
    hook_id, secret = await make_hook(api, receiver.url, ["post.published"])
    resp = await api.post(f"/v1/webhooks/{hook_id}/test")
    assert resp.status_code == 200
    delivery = resp.json()
    assert delivery["status"] == "succeeded" and delivery["response_code"] == 200
    assert delivery["event_type"] == "webhook.test" and delivery["duration_ms"] >= 0
    assert verified(secret, receiver.received[0])["type"] == "webhook.test"
    receiver.answers.append(503)
    failed = (await api.post(f"/v1/webhooks/{hook_id}/test")).json()
    assert (
        failed["status"] == "pending" and failed["response_code"] == 503 and failed["next_retry_at"]
    )


async def test_slow_receiver_never_slows_publishing(tmp_path: Path, receiver: Receiver) -> None:
    receiver.stall = 3.0
    async with running_api(make_config(tmp_path, **FAST, OCTOPOST_WEBHOOKS_TIMEOUT="5")) as api:
        key = await sandbox_key(api)
        await make_hook(api, receiver.url, ["post.published"], key=key)
        ids = []
        for i in range(3):
            pid = (
                await api.post(
                    "/v1/posts", {"content": f"fast {i}", "platforms": ["bluesky"]}, key=key
                )
            ).json()["id"]
            await api.post(f"/v1/posts/{pid}/publish", key=key)
            ids.append(pid)
        for pid in ids:
            await api.wait_status(pid, {"published"}, timeout=2.0, key=key)
        assert receiver.received == []  # the receiver is still chewing on the first one


async def test_reauth_required_event_carries_the_account(
    tmp_path: Path, receiver: Receiver
) -> None:
    from tests.platform_env import connect, started_fakes

    async with (
        started_fakes("mastodon") as fakes,
        running_api(make_config(tmp_path, **FAST)) as api,
    ):
        _, secret = await make_hook(api, receiver.url, ["account.reauth_required", "post.failed"])
        account = await connect(api, fakes["mastodon"])
        fakes["mastodon"].revoke()  # type: ignore[attr-defined]
        pid = (
            await api.post("/v1/posts", {"content": "revoked", "platforms": ["mastodon"]})
        ).json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        await api.wait_status(pid, {"failed"})
        await eventually(lambda: _count(receiver, "account.reauth_required", 1))
        await eventually(lambda: _count(receiver, "post.failed", 1))
    payload = verified(secret, receiver.of_type("account.reauth_required")[0])
    assert payload["data"]["account"]["id"] == account["id"]
    assert payload["data"]["account"]["status"] == "reauth_required"
    assert fakes["mastodon"].TOKEN not in str(payload)  # type: ignore[attr-defined]


async def test_housekeeping_forgets_old_finished_deliveries(api: Api, receiver: Receiver) -> None:
    hook_id, _ = await make_hook(api, receiver.url, ["post.published"])
    assert (await api.post(f"/v1/webhooks/{hook_id}/test")).json()["status"] == "succeeded"
    store = api.services.store
    assert await store.webhooks.purge(datetime.now(UTC) - timedelta(days=1)) == 0  # too recent
    assert await store.webhooks.purge(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert (await api.get(f"/v1/webhooks/{hook_id}/deliveries")).json() == {
        "deliveries": [],
        "total": 0,
    }
    assert await store.db.fetchall("SELECT id FROM events") == []
    await api.services.housekeeping()  # runs hourly; must not fail on an empty outbox
