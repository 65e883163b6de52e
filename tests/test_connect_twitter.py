"""X connected by OAuth 2.0 with PKCE, end to end against the strict fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.receiver import Receiver
from tests.fakes.twitter import Fake
from tests.helpers import make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
async def test_connect_publish_refresh_revoke(
    tmp_path: Path, receiver: Receiver, confidential: bool
) -> None:
    async with Fake() as fake:
        fake.confidential = confidential
        async with running_api(make_config(tmp_path, **oauth_env(fake), **FAST)) as api:
            account = await lifecycle(
                api,
                fake,
                receiver,
                expire=fake.expire_access_tokens,
                revoke=fake.revoke_all,
                refreshes=lambda: fake.refreshes,
            )
    assert account["username"] == Fake.USER.username
    assert account["platform_user_id"] == Fake.USER.id
    assert account["avatar_url"]
    asked = fake.oauth.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256"
    assert set(asked["scope"].split()) >= {"offline.access", "media.write", "tweet.write"}
    exchange = next(r for r in fake.token_requests if r["grant_type"] == "authorization_code")
    assert exchange["code_verifier"] and ("client_id" in exchange) is not confidential


async def test_browser_sees_connected_page_and_reconnect_keeps_the_account(
    tmp_path: Path,
) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        first = await connect_oauth(api, fake, json=False)
        assert first.final.status_code == 200
        assert "text/html" in first.final.headers["content-type"]
        assert f"@{Fake.USER.username}" in first.final.text
        again = await connect_oauth(api, fake)
        accounts = (await api.get("/v1/accounts")).json()["accounts"]
    assert len(accounts) == 1 and accounts[0]["id"] == again.json()["account"]["id"]


async def test_pasted_oauth1_keys_still_work(tmp_path: Path) -> None:
    async with (
        Fake(kind="oauth1") as fake,
        running_api(make_config(tmp_path, **oauth_env(fake))) as api,
    ):
        resp = await api.post(
            "/v1/accounts", {"platform": "twitter", "credentials": fake.credentials()}
        )
        assert resp.status_code == 201, resp.text
        made = await api.post("/v1/posts", {"content": "oauth1", "platforms": ["twitter"]})
        pid = made.json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        assert (await api.wait_status(pid, {"published", "failed"}))["status"] == "published"
