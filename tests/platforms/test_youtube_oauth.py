"""The YouTube fake's Google OAuth 2.0: authorize, code exchange with PKCE, offline access,
loopback redirects for desktop clients, the channel chooser, scopes, refresh, revoke.

These hold the fake to what Google does, so that the connect flow tested against it
would pass against Google too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from tests.fakes.youtube import AUTH, Fake
from tests.helpers import Clock
from tests.platforms.oauth_drive import RFC_CHALLENGE, RFC_VERIFIER, authorize, form_post

AUTHORIZE = "/o/oauth2/v2/auth"
REDIRECT = "http://127.0.0.1:53682/v1/oauth/callback/youtube"
SCOPES = f"{AUTH}youtube.upload {AUTH}youtube.readonly"


@asynccontextmanager
async def youtube() -> AsyncIterator[tuple[Fake, aiohttp.ClientSession, Clock]]:
    clock = Clock()
    async with Fake(clock=clock) as fake, aiohttp.ClientSession() as http:
        assert isinstance(fake, Fake)
        yield fake, http, clock


def ask(**extra: str) -> dict[str, str]:
    return {
        "client_id": Fake.CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPES,
        "access_type": "offline",
        "prompt": "consent",
        "state": "st-9",
        "code_challenge": RFC_CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }


def exchange(code: str, **extra: str) -> dict[str, str]:
    return {
        "code": code,
        "client_id": Fake.CLIENT_ID,
        "client_secret": Fake.CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        "grant_type": "authorization_code",
        "code_verifier": RFC_VERIFIER,
        **extra,
    }


def refresh_form(token: str) -> dict[str, str]:
    return {
        "client_id": Fake.CLIENT_ID,
        "client_secret": Fake.CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": token,
    }


async def connect(fake: Fake, http: aiohttp.ClientSession, **extra: str) -> dict[str, Any]:
    answer = await authorize(http, fake.url + AUTHORIZE, ask(**extra))
    assert answer.status == 302 and "code" in answer.params, answer.params or answer.text
    status, token = await form_post(http, fake.url + "/token", exchange(answer.params["code"]))
    assert status == 200, token
    return token


async def mine(fake: Fake, http: aiohttp.ClientSession, token: str) -> tuple[int, Any]:
    async with http.get(
        f"{fake.url}/youtube/v3/channels",
        params={"part": "snippet", "mine": "true"},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        return resp.status, await resp.json()


async def start_upload(fake: Fake, http: aiohttp.ClientSession, token: str) -> int:
    async with http.post(
        f"{fake.url}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
        json={"snippet": {"title": "t"}, "status": {"privacyStatus": "private"}},
        headers={
            "Authorization": f"Bearer {token}",
            "X-Upload-Content-Length": "10",
            "X-Upload-Content-Type": "video/mp4",
        },
    ) as resp:
        return resp.status


async def test_desktop_client_connects_offline_with_pkce_on_any_loopback_port() -> None:
    async with youtube() as (fake, http, _):
        for redirect in (REDIRECT, "http://127.0.0.1:8080/", "http://[::1]:9000/cb"):
            answer = await authorize(http, fake.url + AUTHORIZE, ask(redirect_uri=redirect))
            assert answer.status == 302 and answer.redirected_to == redirect
            assert answer.params["state"] == "st-9" and answer.params["code"]
        token = await connect(fake, http)
        assert token["access_token"].startswith("ya29.")
        assert token["refresh_token"].startswith("1//")
        assert token["expires_in"] == 3599 and set(token["scope"].split()) == set(SCOPES.split())
        status, channels = await mine(fake, http, token["access_token"])
        assert status == 200
        assert [c["id"] for c in channels["items"]] == ["UCfakeChannel0123456789"]
        assert channels["items"][0]["snippet"]["customUrl"] == "@octochannel"
        assert await start_upload(fake, http, token["access_token"]) == 200


async def test_client_and_redirect_problems_show_googles_error_page() -> None:
    async with youtube() as (fake, http, _):
        answer = await authorize(http, fake.url + AUTHORIZE, ask(client_id="other"))
        assert answer.status == 400 and answer.location == ""
        for bad in ("http://octopost.example/cb", "https://127.0.0.1:8080/cb"):
            answer = await authorize(http, fake.url + AUTHORIZE, ask(redirect_uri=bad))
            assert answer.status == 400 and "not registered" in answer.text, bad
        answer = await authorize(http, fake.url + AUTHORIZE, ask(access_type="forever"))
        assert answer.status == 400 and answer.location == ""
        # a web client: only its registered URIs, loopback included
        fake.client_type = "web"
        fake.oauth.redirect_uris.add("https://octopost.example/v1/oauth/callback/youtube")
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.status == 400
        answer = await authorize(
            http,
            fake.url + AUTHORIZE,
            ask(redirect_uri="https://octopost.example/v1/oauth/callback/youtube"),
        )
        assert answer.status == 302 and answer.params["code"]


async def test_bad_scopes_are_refused_and_a_denial_redirects_back() -> None:
    async with youtube() as (fake, http, _):
        answer = await authorize(http, fake.url + AUTHORIZE, ask(scope="https://x.example/all"))
        assert answer.status == 400 and answer.location == ""
        answer = await authorize(http, fake.url + AUTHORIZE, ask(code_challenge_method="plain"))
        assert answer.status == 400 and answer.location == ""
        fake.oauth.deny = True
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.redirected_to == REDIRECT
        assert answer.params == {"error": "access_denied", "state": "st-9"} | {
            "error_description": answer.params["error_description"]
        }


async def test_a_refresh_token_needs_offline_access_and_then_consent() -> None:
    async with youtube() as (fake, http, _):
        token = await connect(fake, http, access_type="online")
        assert "refresh_token" not in token
        token = await connect(fake, http, prompt="select_account")  # consented before: none
        assert "refresh_token" not in token
        fake.consented = False  # a user who never connected this app
        token = await connect(fake, http, prompt="select_account")  # first consent: one
        assert "refresh_token" in token
        token = await connect(fake, http, prompt="select_account")  # consented before: none
        assert "refresh_token" not in token
        token = await connect(fake, http, prompt="consent select_account")
        assert "refresh_token" in token


async def test_pkce_code_reuse_and_redirect_checks_at_the_token_endpoint() -> None:
    async with youtube() as (fake, http, clock):
        url = fake.url + AUTHORIZE

        async def code() -> str:
            return (await authorize(http, url, ask())).params["code"]

        status, body = await form_post(
            http, fake.url + "/token", exchange(await code(), code_verifier="y" * 43)
        )
        assert status == 400 and body["error"] == "invalid_grant"
        form = exchange(await code())
        del form["code_verifier"]
        status, body = await form_post(http, fake.url + "/token", form)
        assert status == 400 and body["error"] == "invalid_grant"
        status, body = await form_post(
            http, fake.url + "/token", exchange(await code(), redirect_uri="http://127.0.0.1:1/")
        )
        assert status == 400 and body["error"] == "redirect_uri_mismatch"
        status, body = await form_post(
            http, fake.url + "/token", exchange(await code(), client_secret="nope")
        )
        assert status == 401 and body["error"] == "invalid_client"

        first_code = await code()
        status, first = await form_post(http, fake.url + "/token", exchange(first_code))
        assert status == 200
        status, body = await form_post(http, fake.url + "/token", exchange(first_code))
        assert status == 400 and body["error"] == "invalid_grant"
        assert (await mine(fake, http, first["access_token"]))[0] == 401  # replay revoked it
        status, body = await form_post(
            http, fake.url + "/token", refresh_form(first["refresh_token"])
        )
        assert status == 400 and body["error"] == "invalid_grant"

        late = await code()
        clock.now += 601
        status, body = await form_post(http, fake.url + "/token", exchange(late))
        assert status == 400 and body["error"] == "invalid_grant"


async def test_granted_scopes_decide_what_the_token_may_do() -> None:
    async with youtube() as (fake, http, _):
        fake.oauth.grant = frozenset({f"{AUTH}youtube.upload"})
        token = await connect(fake, http)
        assert token["scope"] == f"{AUTH}youtube.upload"
        status, body = await mine(fake, http, token["access_token"])
        assert status == 403
        assert body["error"]["errors"][0]["reason"] == "insufficientPermissions"
        assert await start_upload(fake, http, token["access_token"]) == 200
        fake.oauth.grant = frozenset({f"{AUTH}youtube.readonly"})
        token = await connect(fake, http)
        assert (await mine(fake, http, token["access_token"]))[0] == 200
        assert await start_upload(fake, http, token["access_token"]) == 403


async def test_the_user_picks_a_brand_account_channel() -> None:
    async with youtube() as (fake, http, _):
        fake.brand_channels = [
            {"id": "UCbrand000000000000000", "title": "Brand", "customUrl": "@brand"}
        ]
        fake.chosen_channel = "UCbrand000000000000000"
        token = await connect(fake, http)
        status, channels = await mine(fake, http, token["access_token"])
        assert [c["id"] for c in channels["items"]] == ["UCbrand000000000000000"]
        fake.chosen_channel = None
        fake.channel = None  # a Google account without a channel of its own
        token = await connect(fake, http)
        status, channels = await mine(fake, http, token["access_token"])
        assert status == 200 and channels["items"] == []


async def test_refresh_keeps_the_token_and_revoke_ends_the_grant() -> None:
    async with youtube() as (fake, http, clock):
        token = await connect(fake, http)
        status, new = await form_post(
            http, fake.url + "/token", refresh_form(token["refresh_token"])
        )
        assert status == 200 and "refresh_token" not in new  # Google does not rotate
        assert set(new["scope"].split()) == set(SCOPES.split())
        assert (await mine(fake, http, new["access_token"]))[0] == 200
        assert await form_post(http, fake.url + "/revoke", {"token": token["refresh_token"]}) == (
            200,
            {},
        )
        assert (await mine(fake, http, new["access_token"]))[0] == 401
        status, body = await form_post(
            http, fake.url + "/token", refresh_form(token["refresh_token"])
        )
        assert status == 400 and body["error"] == "invalid_grant"
        status, body = await form_post(http, fake.url + "/revoke", {"token": new["access_token"]})
        assert status == 400 and body["error"] == "invalid_token"

        # an External consent screen still in Testing: refresh tokens die after 7 days
        fake.testing_mode = True
        token = await connect(fake, http)
        assert token["refresh_token_expires_in"] == 7 * 86_400 - 1
        clock.now += 7 * 86_400 + 1
        status, body = await form_post(
            http, fake.url + "/token", refresh_form(token["refresh_token"])
        )
        assert status == 400 and body["error"] == "invalid_grant"
