"""Mastodon connected by OAuth: an app registered per instance, PKCE where supported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.mastodon import Fake
from tests.fakes.receiver import Receiver
from tests.helpers import make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_connect_publish_revoke(tmp_path: Path, receiver: Receiver) -> None:
    """Mastodon tokens never expire and come without refresh tokens (docs: oauth-tokens),
    so the life is connect -> publish -> revoke -> reauth_required."""
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake), **FAST)) as api:
        account = await lifecycle(
            api,
            fake,
            receiver,
            expire=None,
            revoke=fake.revoke_all,
            refreshes=lambda: 0,
            instance_url=fake.url,
        )
    assert account["username"] == "alice" and account["avatar_url"]
    (app,) = fake.apps.values()
    assert app["redirect_uris"] == ["http://octopost.test/v1/oauth/callback/mastodon"]
    assert "profile" in app["scopes"]
    asked = fake.oauth.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256" and asked["client_id"] == app["client_id"]


async def test_the_app_is_registered_once_per_instance(tmp_path: Path) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        for _ in range(2):
            flow = await connect_oauth(api, fake, instance_url=fake.url)
            assert flow.final.status_code == 200, flow.final.text
        accounts = (await api.get("/v1/accounts")).json()["accounts"]
    assert len(fake.calls("POST", "/api/v1/apps")) == 1
    assert len(accounts) == 1


async def test_an_older_instance_without_pkce(tmp_path: Path) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.modern = False
        flow = await connect_oauth(api, fake, instance_url=fake.url)
        assert flow.final.status_code == 200, flow.final.text
    asked = fake.oauth.authorize_requests[0]
    assert "code_challenge" not in asked and "read:accounts" in asked["scope"].split()


async def test_instance_url_is_required(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        resp = await api.post("/v1/accounts/connect", {"platform": "mastodon"})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "instance_url"


async def test_an_unreachable_instance(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        resp = await api.post(
            "/v1/accounts/connect",
            {"platform": "mastodon", "instance_url": "http://127.0.0.1:9"},
        )
        assert resp.status_code == 502, resp.text
        assert await api.services.store.db.fetchall("SELECT 1 FROM oauth_flows") == []
