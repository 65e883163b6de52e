"""LinkedIn connected by OAuth (authorization code, openid profile w_member_social)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.linkedin import PERSON, Fake
from tests.fakes.receiver import Receiver
from tests.helpers import make_config, running_api
from tests.oauth_flow import connect_oauth, lifecycle, oauth_env

FAST = {"OCTOPOST_WEBHOOKS_POLL_INTERVAL": "0.1", "OCTOPOST_WEBHOOKS_BACKOFF_BASE": "0.05"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_connect_publish_refresh_revoke(tmp_path: Path, receiver: Receiver) -> None:
    """An app approved for programmatic refresh tokens: the full life."""
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake), **FAST)) as api:
        account = await lifecycle(
            api,
            fake,
            receiver,
            expire=fake.expire_token,
            revoke=fake.revoke_all,
            refreshes=lambda: fake.refreshes,
        )
    assert account["platform_user_id"] == PERSON + fake.sub  # the member URN from userinfo
    assert account["display_name"] == fake.name and account["avatar_url"]
    asked = fake.oauth.authorize_requests[0]
    assert asked["scope"].split() == ["openid", "profile", "w_member_social"]
    assert "code_challenge" not in asked
    assert [p["author"] for p in fake.posts] == [PERSON + fake.sub] * 2


async def test_without_refresh_tokens_an_expired_token_means_reconnect(tmp_path: Path) -> None:
    """The self-serve case: no refresh token, the member re-consents after 60 days."""
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.programmatic_refresh = False
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code == 200, flow.final.text
        account = flow.json()["account"]
        fake.expire_token()
        made = await api.post(
            "/v1/posts", {"content": "sixty days later", "platforms": ["linkedin"]}
        )
        pid = made.json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        assert (await api.wait_status(pid, {"published", "failed"}))["status"] == "failed"
        got = (await api.get(f"/v1/accounts/{account['id']}")).json()
    assert got["status"] == "reauth_required" and fake.refreshes == 0


async def test_a_member_who_cancels(tmp_path: Path) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.deny = True
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code == 400
        assert flow.json()["error"]["code"] == "access_denied"
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_scopes_come_back_comma_separated_and_are_checked(tmp_path: Path) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        fake.oauth.grant = frozenset({"openid", "profile"})
        flow = await connect_oauth(api, fake)
        assert flow.final.status_code == 400
        assert "w_member_social" in flow.json()["error"]["message"]
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_a_company_page_is_picked_after_the_grant(tmp_path: Path) -> None:
    from tests.fakes.linkedin import ORGANIZATION

    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        flow = await connect_oauth(api, fake, extra=["organization"])
        assert flow.final.status_code == 200, flow.final.text
        offer = flow.json()
        assert offer["status"] == "choose"
        assert [c["id"] for c in offer["choices"]] == [PERSON + fake.sub, ORGANIZATION + "2414183"]
        assert offer["choices"][1]["name"] == "Devtestco"
        assert (await api.get("/v1/accounts")).json()["accounts"] == []
        made = await api.post(
            f"/v1/accounts/connect/{offer['connection']}/choose",
            {"choice": ORGANIZATION + "2414183"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["platform_user_id"] == ORGANIZATION + "2414183"
        post = await api.post("/v1/posts", {"content": "From the page", "platforms": ["linkedin"]})
        pid = post.json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        assert (await api.wait_status(pid, {"published", "failed"}))["status"] == "published"
    asked = fake.oauth.authorize_requests[0]["scope"].split()
    assert {"w_organization_social", "r_organization_admin"} <= set(asked)
    assert fake.posts[-1]["author"] == ORGANIZATION + "2414183"


async def test_an_unknown_extra_is_refused(tmp_path: Path) -> None:
    async with Fake() as fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        resp = await api.post(
            "/v1/accounts/connect", {"platform": "linkedin", "extra": ["everything"]}
        )
    assert resp.status_code == 422 and "organization" in resp.json()["error"]["message"]
