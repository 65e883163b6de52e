"""TikTok connected by Login Kit, end to end against the strict fake: a web app (https
redirect, no PKCE) through the server's callback, and a desktop app (loopback redirect,
PKCE with TikTok's hex challenge)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.fakes.media import MediaServer
from tests.fakes.receiver import Receiver
from tests.fakes.tiktok import Fake
from tests.helpers import make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env, start

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_connect_publish_refresh_revoke(
    tmp_path: Path, receiver: Receiver, media_server: MediaServer
) -> None:
    async with Fake() as fake:
        assert isinstance(fake, Fake)
        fake.client_type = "web"  # the callback is not on a loopback address
        async with running_api(make_config(tmp_path, **oauth_env(fake), **FAST)) as api:
            account = await lifecycle(
                api,
                fake,
                receiver,
                expire=fake.expire_access_tokens,
                revoke=fake.revoke_all,
                refreshes=lambda: fake.refresh_count,
                post={"media": {"video": {"url": media_server.at("video.mp4")}}},
            )
            record = await api.services.store.accounts.get(account["id"])
            assert record is not None
            stored = api.services.accounts.box.open(record.credentials_enc)
    assert account["username"] == fake.username and account["display_name"] == fake.nickname
    assert account["platform_user_id"] == fake.open_id
    assert account["avatar_url"]
    asked = fake.oauth.authorize_requests[0]
    assert asked["client_key"] == Fake.CLIENT_KEY
    assert asked["scope"] == "user.info.basic,video.publish"
    assert "code_challenge" not in asked  # web apps send none
    # the rotated refresh token was stored: the one the fake issued last
    assert stored["refresh_token"] == fake.refresh_token
    assert stored["client_key"] == Fake.CLIENT_KEY


async def test_desktop_app_on_a_loopback_redirect_sends_a_hex_challenge(tmp_path: Path) -> None:
    """A desktop app (the CLI's loopback listener, or a server on 127.0.0.1): PKCE."""
    loopback = "http://127.0.0.1:47321/v1/oauth/callback/tiktok"
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        assert isinstance(fake, Fake) and fake.client_type == "desktop"
        started = await start(api, "tiktok", redirect_uri=loopback)
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(started["authorize_url"])  # no one listens there
        assert answer.status_code == 302
        back = urlsplit(answer.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == loopback
        # what the loopback listener hands to the server's callback
        done = await api.get(
            f"/v1/oauth/callback/tiktok?{back.query}", headers={"Accept": "application/json"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["account"]["username"] == fake.username
    asked = fake.oauth.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 64 and int(asked["code_challenge"], 16) >= 0
    assert dict(parse_qsl(back.query))["scopes"] == "user.info.basic,video.publish"


async def test_unticked_scope_and_denial_store_nothing(tmp_path: Path) -> None:
    fake = Fake()
    fake.client_type = "web"
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.grant = frozenset({"user.info.basic"})
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code == 400, flow.final.text
        assert flow.json()["error"]["code"] == "scope_not_granted"
        assert "video.publish" in flow.json()["error"]["message"]
        fake.oauth.grant = None
        fake.oauth.deny = True
        flow = await connect_oauth(api, fake)
        assert flow.json()["error"]["code"] == "access_denied"
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_a_missing_client_secret_is_a_422_at_start(tmp_path: Path) -> None:
    fake = Fake()
    async with fake:
        env = {**oauth_env(fake), "OCTOPOST_PLATFORMS_TIKTOK_CLIENT_SECRET": ""}
        async with running_api(make_config(tmp_path, **env)) as api:
            resp = await api.post("/v1/accounts/connect", {"platform": "tiktok"})
    assert resp.status_code == 422, resp.text
    assert "platforms.tiktok.client_secret" in resp.text
