"""YouTube connected by Google OAuth 2.0, end to end against the strict fake: offline
access with prompt=consent and PKCE, a web client through the server's callback, a
desktop client on any loopback port, the channel picked in Google's account chooser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.media import MediaServer
from tests.fakes.receiver import Receiver
from tests.fakes.youtube import AUTH, Fake
from tests.helpers import make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env, start

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}
BRAND = {"id": "UCbrandChannel000000000", "title": "Octo Brand", "customUrl": "@octobrand"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def web_client() -> Fake:
    fake = Fake()
    fake.client_type = "web"  # the test's callback (http://octopost.test) is no loopback
    return fake


async def stored_credentials(api: object, account_id: str) -> dict[str, object]:
    services = api.services  # type: ignore[attr-defined]
    record = await services.store.accounts.get(account_id)
    assert record is not None
    return services.accounts.box.open(record.credentials_enc)  # type: ignore[no-any-return]


async def test_connect_publish_refresh_revoke(
    tmp_path: Path, receiver: Receiver, media_server: MediaServer
) -> None:
    fake = web_client()

    def revoke() -> None:
        fake.refresh_revoked = True  # the user removes the app at myaccount.google.com

    async with fake, running_api(make_config(tmp_path, **oauth_env(fake), **FAST)) as api:
        account = await lifecycle(
            api,
            fake,
            receiver,
            expire=fake.expire_access_tokens,
            revoke=revoke,
            refreshes=lambda: fake.refresh_count,
            post={"media": {"video": {"url": media_server.at("video.mp4")}}},
        )
        stored = await stored_credentials(api, account["id"])
    assert account["username"] == "octochannel" and account["display_name"] == "Octo Channel"
    assert account["platform_user_id"] == "UCfakeChannel0123456789"
    assert account["avatar_url"].startswith("https://yt3.ggpht.com/")
    assert stored["channel_id"] == "UCfakeChannel0123456789"
    assert stored["refresh_token"] == fake.refresh_token  # from the code exchange, kept
    asked = fake.oauth.authorize_requests[0]
    assert asked["access_type"] == "offline"
    assert "consent" in asked["prompt"].split()
    assert asked["code_challenge_method"] == "S256"
    assert set(asked["scope"].split()) == {AUTH + "youtube.upload", AUTH + "youtube.readonly"}


async def test_reconnecting_gets_a_new_refresh_token_and_keeps_the_account(
    tmp_path: Path,
) -> None:
    fake = web_client()
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        first = (await connect_oauth(api, fake)).json()["account"]
        old = (await stored_credentials(api, first["id"]))["refresh_token"]
        again = (await connect_oauth(api, fake)).json()["account"]
        new = (await stored_credentials(api, again["id"]))["refresh_token"]
        accounts = (await api.get("/v1/accounts")).json()["accounts"]
    # Google sends a refresh token again only because prompt=consent asked for it
    assert again["id"] == first["id"] and len(accounts) == 1
    assert new != old and new == fake.refresh_token


async def test_the_channel_picked_in_googles_chooser_is_the_one_connected(
    tmp_path: Path, media_server: MediaServer
) -> None:
    fake = web_client()
    fake.brand_channels = [BRAND]
    fake.chosen_channel = BRAND["id"]
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        account = (await connect_oauth(api, fake)).json()["account"]
        assert account["platform_user_id"] == BRAND["id"] and account["username"] == "octobrand"
        body = {
            "content": "On the brand channel",
            "platforms": ["youtube"],
            "media": {"video": {"url": media_server.at("video.mp4")}},
        }
        pid = (await api.post("/v1/posts", body)).json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        done = await api.wait_status(pid, {"published", "failed"})
    assert done["status"] == "published", done
    assert fake.posts[0]["channel"] == BRAND["id"]


async def test_desktop_client_on_any_loopback_port(tmp_path: Path) -> None:
    loopback = "http://127.0.0.1:53682/v1/oauth/callback/youtube"
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        assert isinstance(fake, Fake) and fake.client_type == "desktop"
        started = await start(api, "youtube", redirect_uri=loopback)
        async with httpx.AsyncClient() as browser:
            answer = await browser.get(started["authorize_url"])  # no one listens there
        assert answer.status_code == 302
        back = urlsplit(answer.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == loopback
        done = await api.get(
            f"/v1/oauth/callback/youtube?{back.query}", headers={"Accept": "application/json"}
        )
    assert done.status_code == 200, done.text
    assert done.json()["account"]["username"] == "octochannel"


async def test_no_channel_unticked_scope_and_denial_store_nothing(tmp_path: Path) -> None:
    fake = web_client()
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.channel = None
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code in (400, 422), flow.final.text
        assert "no YouTube channel" in flow.json()["error"]["message"]
        fake.channel = {"id": "UCfakeChannel0123456789", "title": "Octo", "customUrl": "@o"}
        fake.oauth.grant = frozenset({AUTH + "youtube.readonly"})
        flow = await connect_oauth(api, fake)
        assert flow.json()["error"]["code"] == "scope_not_granted"
        fake.oauth.grant = None
        fake.oauth.deny = True
        flow = await connect_oauth(api, fake)
        assert flow.json()["error"]["code"] == "access_denied"
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_a_missing_client_secret_is_a_422_at_start(tmp_path: Path) -> None:
    fake = web_client()
    async with fake:
        env = {**oauth_env(fake), "OCTOPOST_PLATFORMS_YOUTUBE_CLIENT_SECRET": ""}
        async with running_api(make_config(tmp_path, **env)) as api:
            resp = await api.post("/v1/accounts/connect", {"platform": "youtube"})
    assert resp.status_code == 422, resp.text
    assert "platforms.youtube.client_secret" in resp.text
