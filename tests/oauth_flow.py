"""Driving an OAuth connect flow against a platform's fake, as a browser would.

`oauth_env(fake)` is the service config for it (the platform pointed at the fake, with
the fake's app credentials, and `server.public_url` = `PUBLIC_URL`, the in-process app's
address). `connect_oauth(api, fake)` starts a flow through the API, then a real HTTP
client (`browser`) opens the authorization URL on the fake and follows its redirect
back to the app's callback: the whole round trip, nothing mocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.fakes._base import FakePlatform
from tests.helpers import Api
from tests.platform_env import platform_env

#: where the in-process app answers (the base URL of `running_api`'s client)
PUBLIC_URL = "http://octopost.test"


def callback_uri(platform: str) -> str:
    return f"{PUBLIC_URL}/v1/oauth/callback/{platform}"


def oauth_env(*fakes: FakePlatform) -> dict[str, str]:
    """Config env for `make_config`: each fake's settings, its callback registered
    with the fake's app, and the public URL the redirect URIs are built from."""
    for fake in fakes:
        fake.oauth.redirect_uris.add(callback_uri(fake.platform))  # type: ignore[attr-defined]
    return {**platform_env(list(fakes)), "OCTOPOST_SERVER_PUBLIC_URL": PUBLIC_URL}


@asynccontextmanager
async def browser(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that follows redirects: the fakes over TCP, the app in-process."""
    assert api.transport is not None
    async with httpx.AsyncClient(
        mounts={PUBLIC_URL: api.transport, "all://": httpx.AsyncHTTPTransport()},
        follow_redirects=True,
        timeout=10,
    ) as client:
        yield client


@dataclass
class Flow:
    started: dict[str, Any]
    #: the last answer the browser got (the callback's, unless the fake refused)
    final: httpx.Response

    def json(self) -> Any:
        return self.final.json()


async def start(api: Api, platform: str, **body: Any) -> dict[str, Any]:
    resp = await api.post("/v1/accounts/connect", {"platform": platform, **body})
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def authorize(api: Api, url: str, *, json: bool = True) -> httpx.Response:
    """Open `url` in the browser and follow every redirect (JSON asked of the callback)."""
    headers = {"Accept": "application/json"} if json else {"Accept": "text/html"}
    async with browser(api) as client:
        return await client.get(url, headers=headers)


async def connect_oauth(api: Api, fake: FakePlatform, *, json: bool = True, **body: Any) -> Flow:
    """start -> the fake's authorize page (approves as its test user) -> callback."""
    started = await start(api, fake.platform, **body)
    return Flow(started, await authorize(api, started["authorize_url"], json=json))


async def lifecycle(
    api: Api,
    fake: FakePlatform,
    receiver: Any,
    *,
    expire: Any,
    revoke: Any,
    refreshes: Any,
    post: dict[str, Any] | None = None,
    **body: Any,
) -> dict[str, Any]:
    """The whole life of an account connected by OAuth, each step checked:
    connect (start -> the fake's authorize page -> callback) -> the account is stored,
    verified and shown -> a publish works with the stored token -> `expire()` -> the next
    publish refreshes once (`refreshes()` goes up by one) and works -> `revoke()` -> a
    publish fails, the account is `reauth_required` and the webhook says so.
    `post`: extra fields of the posts (media for platforms that need it); `expire=None`
    for a platform whose tokens never expire (no refresh step then)."""
    hook = await api.post(
        "/v1/webhooks", {"url": receiver.url, "events": ["account.reauth_required"]}
    )
    assert hook.status_code == 201, hook.text
    flow = await connect_oauth(api, fake, **body)
    assert flow.final.status_code == 200, flow.final.text
    answer = flow.json()
    assert answer["status"] == "connected", answer
    account = answer["account"]
    listed = (await api.get("/v1/accounts")).json()["accounts"]
    assert [a["id"] for a in listed] == [account["id"]]
    assert account["is_active"] is True and account["platform_user_id"]
    assert account["username"] and account["connected_at"] and account["last_used_at"] is None

    async def publish(text: str) -> dict[str, Any]:
        made = await api.post(
            "/v1/posts", {"content": text, "platforms": [fake.platform], **(post or {})}
        )
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        await api.post(f"/v1/posts/{pid}/publish")
        return await api.wait_status(pid, {"published", "failed"})

    first = await publish("Connected by OAuth, first post")
    assert first["status"] == "published", first
    used = (await api.get(f"/v1/accounts/{account['id']}")).json()
    assert used["last_used_at"] is not None

    if expire is not None:  # None: the platform's tokens do not expire (Mastodon)
        before = refreshes()
        expire()
        second = await publish("After the token expired, second post")
        assert second["status"] == "published", second
        assert refreshes() == before + 1

    revoke()
    if expire is not None:
        expire()
    third = await publish("After the user revoked access")
    assert third["status"] == "failed", third
    gone = (await api.get(f"/v1/accounts/{account['id']}")).json()
    assert gone["status"] == "reauth_required" and gone["is_active"] is False

    async def notified() -> bool:
        return bool(receiver.of_type("account.reauth_required"))

    from tests.helpers import eventually

    await eventually(notified)
    event = receiver.of_type("account.reauth_required")[0].json()
    assert event["data"]["account"]["id"] == account["id"]
    return account
