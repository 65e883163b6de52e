"""The connect flow's framework: every bad input gives a clear error and stores nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from octopost.models import utcnow
from octopost.platforms import ADAPTERS
from tests.fakes.twitter import Fake
from tests.helpers import Api, make_config, running_api
from tests.oauth_flow import PUBLIC_URL, authorize, browser, callback_uri, oauth_env, start


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    async with Fake() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def x_api(tmp_path: Path, fake: Fake, clock: Clock) -> AsyncIterator[Api]:
    async with running_api(make_config(tmp_path, **oauth_env(fake)), clock=clock) as api:
        yield api


async def nothing_stored(api: Api) -> None:
    assert (await api.get("/v1/accounts")).json()["accounts"] == []


def error(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}, body
    return body["error"]  # type: ignore[no-any-return]


async def no_redirect(url: str) -> httpx.Response:
    """The authorize page's answer itself (its Location is the callback URL)."""
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
    assert resp.status_code == 302, resp.text
    return resp


async def test_start_answers_the_authorize_url(x_api: Api, fake: Fake) -> None:
    started = await start(x_api, "twitter")
    url = urlsplit(started["authorize_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake.url + "/i/oauth2/authorize"
    assert query["state"] == started["state"] and query["client_id"] == Fake.CLIENT_ID
    assert query["redirect_uri"] == callback_uri("twitter")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    expires = datetime.fromisoformat(started["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=9) < expires - utcnow() <= timedelta(minutes=10)
    # only a hash of the state is stored, and no verifier in clear
    rows = await x_api.services.store.db.fetchall("SELECT hash, secret FROM oauth_flows")
    assert len(rows) == 1 and started["state"].encode() not in bytes(rows[0]["hash"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "myspace"}, "platform"),
        ({"platform": "bluesky"}, "platform"),
        ({"platform": "twitter", "redirect_uri": "https://evil.example/cb"}, "redirect_uri"),
        ({"platform": "twitter", "return_to": "https://evil.example/"}, "return_to"),
        ({"platform": "twitter", "return_to": "//evil.example/"}, "return_to"),
    ],
)
async def test_start_refuses_bad_input(x_api: Api, body: dict[str, Any], field: str) -> None:
    resp = await x_api.post("/v1/accounts/connect", body)
    assert resp.status_code == 422, resp.text
    assert field in str(error(resp)["details"])
    assert await x_api.services.store.db.fetchall("SELECT 1 FROM oauth_flows") == []


async def test_missing_app_credentials_name_the_keys(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        resp = await api.post("/v1/accounts/connect", {"platform": "twitter"})
    assert resp.status_code == 422
    body = error(resp)
    assert "platforms.twitter.client_id" in body["message"]
    assert "OCTOPOST_PLATFORMS_TWITTER_CLIENT_SECRET" in body["message"]
    assert "developer.x.com" in body["message"]
    assert [d["field"] for d in body["details"]] == [
        "platforms.twitter.client_id",
        "platforms.twitter.client_secret",
    ]


@pytest.mark.parametrize(
    "platform",
    [p for p, cls in ADAPTERS.items() if cls.oauth is not None and cls.oauth.needs_secret],
)
async def test_an_app_without_its_secret_is_refused_at_start(tmp_path: Path, platform: str) -> None:
    """Platforms that refuse a token request without the app secret: said before the user
    signs in, not after, at the callback."""
    env = {f"OCTOPOST_PLATFORMS_{platform.upper()}_CLIENT_ID": "an-app-id"}
    async with running_api(make_config(tmp_path, **env)) as api:
        resp = await api.post("/v1/accounts/connect", {"platform": platform})
        assert resp.status_code == 422, resp.text
        body = error(resp)
        assert f"platforms.{platform}.client_secret" in body["message"]
        assert f"OCTOPOST_PLATFORMS_{platform.upper()}_CLIENT_SECRET" in body["message"]
        assert [d["field"] for d in body["details"]] == [f"platforms.{platform}.client_secret"]
        assert await api.services.store.db.fetchall("SELECT 1 FROM oauth_flows") == []


async def test_sandbox_keys_cannot_connect(x_api: Api) -> None:
    _, sandbox = await x_api.services.keys.create("sandbox", sandbox=True)
    resp = await x_api.post("/v1/accounts/connect", {"platform": "twitter"}, key=sandbox)
    assert resp.status_code == 403 and error(resp)["code"] == "forbidden"


async def test_a_replayed_state_is_refused(x_api: Api, fake: Fake) -> None:
    started = await start(x_api, "twitter")
    callback = (await no_redirect(started["authorize_url"])).headers["Location"]
    async with browser(x_api) as client:
        first = await client.get(callback, headers={"Accept": "application/json"})
        assert first.status_code == 200, first.text
        again = await client.get(callback, headers={"Accept": "application/json"})
    assert again.status_code == 400 and error(again)["code"] == "invalid_state"
    assert len((await x_api.get("/v1/accounts")).json()["accounts"]) == 1


async def test_an_expired_state_is_refused(x_api: Api, clock: Clock) -> None:
    started = await start(x_api, "twitter")
    clock.offset = timedelta(minutes=10, seconds=1)
    resp = await authorize(x_api, started["authorize_url"])
    assert resp.status_code == 400 and error(resp)["code"] == "state_expired"
    assert "10 minutes" in error(resp)["message"]
    await nothing_stored(x_api)


async def test_a_state_without_its_flow_or_without_state(x_api: Api) -> None:
    async with browser(x_api) as client:
        unknown = await client.get(
            f"{PUBLIC_URL}/v1/oauth/callback/twitter?code=abc&state=forged",
            headers={"Accept": "application/json"},
        )
        none = await client.get(
            f"{PUBLIC_URL}/v1/oauth/callback/twitter?code=abc",
            headers={"Accept": "application/json"},
        )
        other = await client.get(
            f"{PUBLIC_URL}/v1/oauth/callback/myspace?code=abc&state=x",
            headers={"Accept": "application/json"},
        )
    assert error(unknown)["code"] == "invalid_state" and unknown.status_code == 400
    assert error(none)["code"] == "invalid_state"
    assert other.status_code == 422
    await nothing_stored(x_api)


async def test_the_user_denies(x_api: Api, fake: Fake) -> None:
    fake.oauth.deny = True
    started = await start(x_api, "twitter")
    resp = await authorize(x_api, started["authorize_url"])
    assert resp.status_code == 400 and error(resp)["code"] == "access_denied"
    assert "did not grant" in error(resp)["message"]
    await nothing_stored(x_api)


async def test_a_denial_goes_back_to_return_to(x_api: Api, fake: Fake) -> None:
    fake.oauth.deny = True
    started = await start(x_api, "twitter", return_to="/dashboard/accounts")
    async with httpx.AsyncClient() as plain:
        callback = (await plain.get(started["authorize_url"])).headers["Location"]
    async with httpx.AsyncClient(transport=x_api.transport, base_url=PUBLIC_URL) as client:
        resp = await client.get(callback)
    assert resp.status_code == 303
    target = urlsplit(resp.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == PUBLIC_URL + "/dashboard/accounts"
    assert parse_qs(target.query)["error"] == ["access_denied"]
    await nothing_stored(x_api)


async def test_success_goes_back_to_return_to(x_api: Api, fake: Fake) -> None:
    started = await start(x_api, "twitter", return_to=PUBLIC_URL + "/dashboard/accounts?x=1")
    callback = (await no_redirect(started["authorize_url"])).headers["Location"]
    async with httpx.AsyncClient(transport=x_api.transport, base_url=PUBLIC_URL) as client:
        resp = await client.get(callback)
    assert resp.status_code == 303
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["x"] == ["1"] and query["connected"] == ["twitter"]
    assert query["account"] == [(await x_api.get("/v1/accounts")).json()["accounts"][0]["id"]]


async def test_a_browser_sees_errors_as_a_page(x_api: Api, fake: Fake) -> None:
    fake.oauth.deny = True
    started = await start(x_api, "twitter")
    resp = await authorize(x_api, started["authorize_url"], json=False)
    assert resp.status_code == 400 and "text/html" in resp.headers["content-type"]
    assert "did not grant" in resp.text and "<script" not in resp.text


async def test_scopes_not_granted_are_refused(x_api: Api, fake: Fake) -> None:
    fake.oauth.grant = frozenset({"tweet.read", "users.read", "tweet.write", "offline.access"})
    started = await start(x_api, "twitter")
    resp = await authorize(x_api, started["authorize_url"])
    assert resp.status_code == 400 and error(resp)["code"] == "scope_not_granted"
    assert "media.write" in error(resp)["message"]
    await nothing_stored(x_api)


async def test_a_code_that_does_not_work_is_refused(x_api: Api, fake: Fake) -> None:
    started = await start(x_api, "twitter")
    callback = (await no_redirect(started["authorize_url"])).headers["Location"]
    fake.clock = lambda: 10**12  # the code expired before it came back (X: ~30 s)
    fake.oauth.clock = fake.clock
    async with browser(x_api) as client:
        resp = await client.get(callback, headers={"Accept": "application/json"})
    assert resp.status_code == 400 and error(resp)["code"] == "code_refused"
    await nothing_stored(x_api)


async def test_nothing_secret_is_logged(
    x_api: Api, fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = await start(x_api, "twitter")
    callback = (await no_redirect(started["authorize_url"])).headers["Location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    async with browser(x_api) as client:
        assert (await client.get(callback, headers={"Accept": "application/json"})).is_success
        replay = await client.get(callback)
    assert replay.status_code == 400
    # Octopost's own log lines (the test's HTTP client logs its URLs, state included)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("octopost"))
    assert "/v1/oauth/callback/twitter" in logged
    tokens = list(fake.access_tokens) + list(fake.refresh_tokens)
    for secret in [started["state"], code, Fake.CLIENT_SECRET, *tokens]:
        assert secret not in logged


async def test_a_choice_after_the_grant(
    x_api: Api, fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framework's post-grant choice (Facebook Pages, YouTube channels), declared on
    X's flow for this test: the callback offers, a follow-up call picks."""
    import dataclasses

    from octopost.platforms import ADAPTERS
    from octopost.platforms._connect import Choice

    picked: list[str] = []

    async def choices(ctx: Any, creds: dict[str, Any]) -> list[Choice]:
        return [Choice("p1", "First Page"), Choice("p2", "Second Page", username="second")]

    async def choose(ctx: Any, creds: dict[str, Any], choice: str) -> dict[str, Any]:
        picked.append(choice)
        return creds

    flow = ADAPTERS["twitter"].oauth
    assert flow is not None
    monkeypatch.setattr(
        ADAPTERS["twitter"], "oauth", dataclasses.replace(flow, choices=choices, choose=choose)
    )
    started = await start(x_api, "twitter", return_to="/dashboard/accounts")
    callback = (await no_redirect(started["authorize_url"])).headers["Location"]
    async with httpx.AsyncClient(transport=x_api.transport, base_url=PUBLIC_URL) as client:
        back = await client.get(callback)
    assert back.status_code == 303
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    connection = query["connection"][0]
    assert query["choose"] == ["twitter"]
    await nothing_stored(x_api)
    offered = (await x_api.get(f"/v1/accounts/connect/{connection}")).json()
    assert [c["id"] for c in offered["choices"]] == ["p1", "p2"]
    _, other_key = await x_api.services.keys.create("other")
    assert (await x_api.get(f"/v1/accounts/connect/{connection}", key=other_key)).status_code == 404
    wrong = await x_api.post(f"/v1/accounts/connect/{connection}/choose", {"choice": "p9"})
    assert wrong.status_code == 422 and "p1" in error(wrong)["message"]
    made = await x_api.post(f"/v1/accounts/connect/{connection}/choose", {"choice": "p2"})
    assert made.status_code == 201, made.text
    assert picked == ["p2"] and made.json()["username"] == Fake.USER.username
    again = await x_api.post(f"/v1/accounts/connect/{connection}/choose", {"choice": "p2"})
    assert again.status_code == 404


async def test_the_state_of_another_platform_is_refused(tmp_path: Path, fake: Fake) -> None:
    from tests.fakes.linkedin import Fake as LinkedIn

    async with (
        LinkedIn() as linkedin,
        running_api(make_config(tmp_path, **oauth_env(fake, linkedin))) as api,
    ):
        started = await start(api, "linkedin")
        async with browser(api) as client:
            wrong = await client.get(
                f"{PUBLIC_URL}/v1/oauth/callback/twitter?code=abc&state={started['state']}",
                headers={"Accept": "application/json"},
            )
        assert wrong.status_code == 400 and error(wrong)["code"] == "platform_mismatch"
        assert "LinkedIn" in error(wrong)["message"]
        # the flow itself is untouched and still finishes on its own platform
        done = await authorize(api, started["authorize_url"])
        assert done.status_code == 200, done.text
        assert [a["platform"] for a in (await api.get("/v1/accounts")).json()["accounts"]] == [
            "linkedin"
        ]


def test_app_secrets_never_show_in_reprs() -> None:
    from octopost.config import load_config
    from octopost.platforms import settings_for

    config = load_config(env={"OCTOPOST_PLATFORMS_TWITTER_CLIENT_SECRET": "s3cr3t-value"})
    assert config.platforms.twitter.client_secret == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(config)
    assert "s3cr3t-value" not in repr(settings_for("twitter", config.platform("twitter")))
    from octopost.platforms._connect import App

    assert "s3cr3t-value" not in repr(App("id", "s3cr3t-value"))


async def test_public_url_must_be_a_url(tmp_path: Path) -> None:
    from octopost.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="server.public_url"):
        load_config(env={"OCTOPOST_SERVER_PUBLIC_URL": "octopost.example.com"})
    config = load_config(env={"OCTOPOST_SERVER_PUBLIC_URL": "https://o.example/base/"})
    assert config.public_url == "https://o.example/base"
    assert load_config(env={"OCTOPOST_SERVER_PORT": "9000"}).public_url == "http://127.0.0.1:9000"


async def test_accounts_connected_before_the_upgrade_keep_their_dates(tmp_path: Path) -> None:
    """The connect migration backfills connected_at from created_at (the index is found
    by content, so a migration another change appends first does not break this)."""
    import sqlite3

    from octopost.store import Store
    from octopost.store.schema import MIGRATIONS

    index = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE oauth_flows" in m)
    path = tmp_path / "octopost.db"
    with sqlite3.connect(path) as conn:
        for number, script in enumerate(MIGRATIONS[:index], start=1):
            conn.executescript(f"{script}\nPRAGMA user_version={number};")
        conn.execute(
            "INSERT INTO accounts (id, platform, username, status, credentials, created_at, "
            "updated_at) VALUES ('acc_old', 'mastodon', 'alice', 'active', x'00', "
            "1700000000000, 1700000000000)"
        )
    store = await Store(path).open()
    try:
        (record,) = await store.accounts.all()
    finally:
        await store.close()
    assert record.connected_at == record.created_at and record.last_used_at is None
    assert record.avatar_url is None


async def test_a_flow_dies_with_the_key_that_started_it(x_api: Api) -> None:
    made, key = await x_api.services.keys.create("short-lived")
    resp = await x_api.post("/v1/accounts/connect", {"platform": "twitter"}, key=key)
    assert resp.status_code == 201
    await x_api.services.keys.revoke(made.id)
    done = await authorize(x_api, resp.json()["authorize_url"])
    assert done.status_code == 400 and "revoked" in error(done)["message"]
    await nothing_stored(x_api)
