"""Threads, Instagram and Facebook connected by OAuth, end to end against the strict fakes.

start -> the fake's authorize page (its test user approves) -> callback -> the code
redeemed, the short-lived token exchanged for a long-lived one -> the account stored
and verified -> a publish with the stored token -> expiry -> renewal -> revocation ->
`reauth_required` with its webhook. The adapters' and the fakes' clock is one injected
clock moved by hand (a 60-day token's life in a test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import facebook
from tests.fakes._meta_graph import DAY, MetaGraphFake
from tests.fakes.media import MediaServer
from tests.fakes.receiver import Receiver
from tests.helpers import Api, Clock, eventually, make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env
from tests.platforms.harness import fake_class

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}
SCOPES = {
    "threads": {
        "threads_basic",
        "threads_content_publish",
        "threads_manage_replies",
        "threads_read_replies",
    },
    "instagram": {"instagram_business_basic", "instagram_business_content_publish"},
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def post_for(platform: str, media: MediaServer) -> dict[str, Any]:
    if platform == "instagram":  # Instagram needs media
        return {"media": {"images": [{"url": media.at("image.jpg"), "alt_text": "A square"}]}}
    return {}


async def stored_credentials(api: Api, account_id: str) -> dict[str, Any]:
    record = await api.services.accounts.get(account_id)
    return api.services.accounts.box.open(record.credentials_enc)


# -- Threads and Instagram ---------------------------------------------------------------
@pytest.mark.parametrize("platform", ["threads", "instagram"])
async def test_connect_publish_renew_revoke(
    tmp_path: Path, receiver: Receiver, media_server: MediaServer, platform: str
) -> None:
    clock = Clock()
    fake: MetaGraphFake = fake_class(platform)(clock=clock)  # type: ignore[assignment]
    async with fake:
        config = make_config(tmp_path, **oauth_env(fake), **FAST)
        async with running_api(config, platform_clock=clock) as api:

            def later() -> None:
                clock.now += 55 * DAY  # into the 60-day token's last week

            account = await lifecycle(
                api,
                fake,
                receiver,
                expire=later,
                revoke=fake.revoke,
                refreshes=lambda: len(fake.refreshes),
                post=post_for(platform, media_server),
            )
    # What was asked and granted, and the exchange for the long-lived token.
    asked, granted = fake.oauth.authorizations[0]
    assert asked == granted == SCOPES[platform]
    assert len(fake.exchanges) == 1
    assert account["platform_user_id"] == fake.user_id  # Instagram: not the app-scoped id
    assert account["username"] == fake.username
    exchange = fake.calls("GET", "/access_token")[0]
    assert exchange.query["grant_type"] == fake.exchange_grant
    assert fake.posts and all(p["params"] for p in fake.posts)


@pytest.mark.parametrize("platform", ["threads", "instagram"])
async def test_stored_credentials_are_the_long_lived_token(tmp_path: Path, platform: str) -> None:
    clock = Clock()
    fake: MetaGraphFake = fake_class(platform)(clock=clock)  # type: ignore[assignment]
    async with fake:
        config = make_config(tmp_path, **oauth_env(fake))
        async with running_api(config, platform_clock=clock) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 200, flow.final.text
            account = flow.json()["account"]
            creds = await stored_credentials(api, account["id"])
            assert creds["access_token"] == fake.exchanges[0]
            assert fake.tokens[creds["access_token"]].short is False
            assert creds["user_id"] == fake.user_id
            assert clock.now + 59 * DAY < creds["expires_at"] <= clock.now + 60 * DAY
            assert creds["issued_at"] == pytest.approx(clock.now)
            # Connecting again replaces the credentials of the same account.
            again = await connect_oauth(api, fake)
            accounts = (await api.get("/v1/accounts")).json()["accounts"]
            assert [a["id"] for a in accounts] == [again.json()["account"]["id"]]
            creds = await stored_credentials(api, accounts[0]["id"])
            assert creds["access_token"] == fake.exchanges[1]
            # The upkeep job renews it in its last week, with nothing published.
            clock.now += 54 * DAY
            assert (await api.services.upkeep.run()).renewed == [accounts[0]["id"]]
            creds = await stored_credentials(api, accounts[0]["id"])
            assert creds["access_token"] == fake.refreshes[-1]


async def test_denied_consent_stores_nothing(tmp_path: Path) -> None:
    fake = fake_class("threads")()
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.deny = True  # type: ignore[attr-defined]
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code >= 400
        assert "did not grant" in flow.final.text
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_instagram_without_the_publish_scope_is_refused(tmp_path: Path) -> None:
    fake = fake_class("instagram")()
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.decline = {"instagram_business_content_publish"}  # type: ignore[attr-defined]
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code >= 400
        assert "instagram_business_content_publish" in flow.final.text
        assert (await api.get("/v1/accounts")).json()["accounts"] == []
        assert fake.exchanges == []  # type: ignore[attr-defined]


async def test_threads_without_the_publish_scope_is_refused(tmp_path: Path) -> None:
    """Threads' token answer names no scopes: the publishing quota, which needs
    threads_content_publish, tells."""
    fake = fake_class("threads")()
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.decline = {"threads_content_publish"}  # type: ignore[attr-defined]
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code == 422, flow.final.text
        assert "without threads_content_publish" in flow.json()["error"]["message"]
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_instagram_flat_token_answer(tmp_path: Path) -> None:
    fake = fake_class("instagram")()
    async with fake:
        fake.flat_token = True  # type: ignore[attr-defined]
        async with running_api(make_config(tmp_path, **oauth_env(fake))) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 200, flow.final.text
            assert flow.json()["account"]["username"] == fake.username  # type: ignore[attr-defined]


# -- Facebook ----------------------------------------------------------------------------
async def test_facebook_page_choice_publish_revoke(tmp_path: Path, receiver: Receiver) -> None:
    clock = Clock()
    async with facebook.Fake(clock=clock) as fake:
        fake.require_proof = True  # an app with "Require App Secret" on
        config = make_config(tmp_path, **oauth_env(fake), **FAST)
        async with running_api(config, platform_clock=clock) as api:
            hook = await api.post(
                "/v1/webhooks", {"url": receiver.url, "events": ["account.reauth_required"]}
            )
            assert hook.status_code == 201
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 200, flow.final.text
            answer = flow.json()
            # Two Pages granted: the callback answers the list, nothing is stored yet.
            assert answer["status"] == "choose"
            assert [c["id"] for c in answer["choices"]] == [fake.PAGE_ID, fake.OTHER_PAGE_ID]
            assert answer["choices"][0]["name"] == "Octo Cafe"
            assert (await api.get("/v1/accounts")).json()["accounts"] == []
            chosen = await api.post(
                f"/v1/accounts/connect/{answer['connection']}/choose", {"choice": fake.PAGE_ID}
            )
            assert chosen.status_code in (200, 201), chosen.text
            account = chosen.json()
            account = account.get("account", account)
            assert account["platform_user_id"] == fake.PAGE_ID
            assert account["username"] == "octocafe"
            creds = await stored_credentials(api, account["id"])
            assert creds["page_id"] == fake.PAGE_ID
            assert fake.tokens[creds["page_access_token"]].kind == "page"
            assert "user_access_token" not in creds
            assert creds["app_secret"] == fake.APP_SECRET  # appsecret_proof on every call
            # The same connection cannot be used twice.
            again = await api.post(
                f"/v1/accounts/connect/{answer['connection']}/choose", {"choice": fake.PAGE_ID}
            )
            assert again.status_code == 404

            async def publish(text: str) -> dict[str, Any]:
                made = await api.post("/v1/posts", {"content": text, "platforms": ["facebook"]})
                pid = made.json()["id"]
                await api.post(f"/v1/posts/{pid}/publish")
                return await api.wait_status(pid, {"published", "failed"})

            assert (await publish("Connected by Facebook Login"))["status"] == "published"
            # A Page token from a long-lived user token does not expire: no refresh exists,
            # and two months on it still publishes.
            clock.now += 61 * DAY
            assert (await publish("Two months later"))["status"] == "published"
            # The user removes the app: the next publish fails, the account must reconnect.
            fake.revoke()
            assert (await publish("After the app was removed"))["status"] == "failed"
            gone = (await api.get(f"/v1/accounts/{account['id']}")).json()
            assert gone["status"] == "reauth_required"

            async def notified() -> bool:
                return bool(receiver.of_type("account.reauth_required"))

            await eventually(notified)
    assert [p["message"] for p in fake.pages[fake.PAGE_ID].timeline] == [
        "Connected by Facebook Login",
        "Two months later",
    ]
    asked, granted = fake.oauth.authorizations[0]
    assert asked == granted == {"pages_show_list", "pages_read_engagement", "pages_manage_posts"}


async def test_facebook_one_page_connects_without_a_question(tmp_path: Path) -> None:
    async with facebook.Fake() as fake:
        fake.granted_pages = {fake.OTHER_PAGE_ID}
        async with running_api(make_config(tmp_path, **oauth_env(fake))) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 200, flow.final.text
            assert flow.json()["status"] == "connected"
            assert flow.json()["account"]["platform_user_id"] == fake.OTHER_PAGE_ID


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda f: f.oauth.decline.add("pages_manage_posts"), "pages_manage_posts"),
        (lambda f: setattr(f, "granted_pages", set()), "no Page"),
    ],
    ids=["declined-scope", "no-page"],
)
async def test_facebook_refusals_store_nothing(tmp_path: Path, setup: Any, words: str) -> None:
    async with facebook.Fake() as fake:
        setup(fake)
        async with running_api(make_config(tmp_path, **oauth_env(fake))) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 422, flow.final.text
            assert words in flow.final.text
            assert (await api.get("/v1/accounts")).json()["accounts"] == []


@pytest.mark.parametrize("platform", ["threads", "instagram", "facebook"])
async def test_a_wrong_app_secret_is_named_and_nothing_is_stored(
    tmp_path: Path, platform: str
) -> None:
    async with fake_class(platform)() as fake:
        env = oauth_env(fake)
        env[f"OCTOPOST_PLATFORMS_{platform.upper()}_CLIENT_SECRET"] = "not-the-secret"
        async with running_api(make_config(tmp_path, **env)) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 400
            error = flow.json()["error"]
            # Meta's own reason reaches the user (the Graph envelope, or Instagram's flat one)
            assert error["code"] == "code_refused"
            assert "Error validating client secret." in error["message"]
            assert "not-the-secret" not in flow.final.text
            assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_facebook_lists_every_page_it_may_publish_on(tmp_path: Path) -> None:
    async with facebook.Fake() as fake:
        # More Pages than one /me/accounts answer holds (100), one only for analytics.
        for n in range(120):
            page = facebook.Page(f"20000000000{n:03d}", f"Branch {n:03d}", "")
            fake.pages[page.id] = page
        fake.pages["20000000000007"].tasks = ["ANALYZE"]
        async with running_api(make_config(tmp_path, **oauth_env(fake))) as api:
            flow = await connect_oauth(api, fake)
            answer = flow.json()
            assert answer["status"] == "choose", answer
            ids = [c["id"] for c in answer["choices"]]
            assert len(ids) == 121 and "20000000000007" not in ids
            listed = fake.calls("GET", "/v25.0/me/accounts")
            assert len(listed) == 2  # the second page of the answer was followed
            picked = await api.post(
                f"/v1/accounts/connect/{answer['connection']}/choose", {"choice": ids[-1]}
            )
            assert picked.status_code == 201, picked.text
            assert picked.json()["platform_user_id"] == ids[-1]


async def test_instagram_with_facebook_login_is_not_connected_in_a_browser(tmp_path: Path) -> None:
    fake = fake_class("instagram")()
    async with fake:
        env = oauth_env(fake)
        # The Facebook Login variant: refused before anything is sent to graph.facebook.com
        env["OCTOPOST_PLATFORMS_INSTAGRAM_BASE_URL"] = "https://graph.facebook.com"
        async with running_api(make_config(tmp_path, **env)) as api:
            flow = await connect_oauth(api, fake)
            assert flow.final.status_code == 422
            assert "Instagram Login" in flow.json()["error"]["message"]
            assert (await api.get("/v1/accounts")).json()["accounts"] == []
