"""Token upkeep: long-lived Threads/Instagram tokens renewed between publishes, and
`reauth_required` (with its webhook) when the platform refuses them for good.

The adapters' clock and the fakes' clock are one injected clock moved by hand, and
the job is run directly (the scheduler only calls it every few hours): deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from octopost.upkeep import UPKEEP_JOB
from tests.fakes._meta_graph import DAY, MetaGraphFake
from tests.fakes.receiver import Receiver
from tests.helpers import Clock, eventually, make_config, running_api
from tests.platform_env import connect, platform_env
from tests.platforms.harness import fake_class

WEBHOOKS_FAST = {
    "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05",
    "OCTOPOST_WEBHOOKS_BACKOFF_MAX": "0.2",
    "OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1",
}


@pytest.mark.parametrize("platform", ["threads", "instagram"])
async def test_upkeep_renews_due_tokens_and_asks_to_reconnect_when_refused(
    tmp_path: Path, platform: str
) -> None:
    clock = Clock()
    receiver = await Receiver().start()
    fake: MetaGraphFake = fake_class(platform)(clock=clock)  # type: ignore[assignment]
    await fake.start()
    try:
        config = make_config(tmp_path, **platform_env([fake]), **WEBHOOKS_FAST)
        async with running_api(config, platform_clock=clock) as api:
            hook = await api.post(
                "/v1/webhooks", {"url": receiver.url, "events": ["account.reauth_required"]}
            )
            assert hook.status_code == 201, hook.text
            account = await connect(api, fake)
            upkeep = api.services.upkeep
            # Connecting learned the pasted token's expiry (one refresh): nothing is due.
            assert len(fake.refreshes) == 1
            assert (await upkeep.run()).renewed == []
            # In its last week the token is renewed, though nothing was published.
            clock.now += 55 * DAY
            run = await upkeep.run()
            assert run.renewed == [account["id"]] and len(fake.refreshes) == 2
            handle = await api.services.accounts.handle(
                await api.services.accounts.get(account["id"])
            )
            assert handle.credentials["access_token"] == fake.refreshes[-1]
            assert handle.credentials["expires_at"] > clock.now + 59 * DAY
            # Stored before use: a restart reads the renewed token.
            stored = await api.services.store.accounts.get(account["id"])
            assert stored is not None
            assert (
                api.services.accounts.box.open(stored.credentials_enc)["access_token"]
                == (fake.refreshes[-1])
            )
            clock.now += 3 * DAY
            assert (await upkeep.run()).renewed == [] and len(fake.refreshes) == 2
            # The user removes the app: the next renewal is refused for good.
            fake.revoke()
            clock.now += 52 * DAY
            run = await upkeep.run()
            assert run.reauth == [account["id"]] and run.renewed == []
            body = (await api.get(f"/v1/accounts/{account['id']}")).json()
            assert body["status"] == "reauth_required"
            await eventually(lambda: _arrived(receiver))
            event = receiver.received[0].json()
            assert event["type"] == "account.reauth_required"
            assert event["data"]["account"]["id"] == account["id"]
            assert fake.token not in str(event)
            # An account waiting for its user is left alone.
            calls = len(fake.requests)
            assert await upkeep.run() == type(run)()
            assert len(fake.requests) == calls
    finally:
        await fake.stop()
        await receiver.stop()


async def _arrived(receiver: Receiver) -> bool:
    return bool(receiver.received)


async def test_upkeep_keeps_going_when_a_platform_is_down(tmp_path: Path) -> None:
    clock = Clock()
    fake: MetaGraphFake = fake_class("threads")(clock=clock)  # type: ignore[assignment]
    await fake.start()
    try:
        config = make_config(tmp_path, **platform_env([fake]))
        async with running_api(config, platform_clock=clock) as api:
            account = await connect(api, fake)
            token = fake.refreshes[-1]
            await fake.stop()  # Threads cannot be reached
            clock.now += 55 * DAY
            run = await api.services.upkeep.run()
            # Nothing is lost: the account stays active with its token, for the next run.
            assert run.reauth == [] and run.renewed == []
            body = (await api.get(f"/v1/accounts/{account['id']}")).json()
            assert body["status"] == "active"
            handle = await api.services.accounts.handle(
                await api.services.accounts.get(account["id"])
            )
            assert handle.credentials["access_token"] == token
    finally:
        await fake.stop()


async def test_the_scheduler_runs_the_upkeep(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        scheduler = api.services.scheduler
        assert scheduler.ready is not None
        await scheduler.ready  # APScheduler loads after start (octopost.scheduler)
        assert scheduler._aps is not None
        job = scheduler._aps.get_job(UPKEEP_JOB)
        assert job is not None
        assert job.trigger.interval.total_seconds() == 6 * 3600
        # first a minute after start (a server restarted often still renews)
        wait = (job.next_run_time - datetime.now(UTC)).total_seconds()
        assert 0 < wait <= 60
