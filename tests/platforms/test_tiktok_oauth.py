"""The TikTok fake's Login Kit: authorize, code exchange, refresh rotation, revoke, scopes.

These hold the fake to what TikTok does, so that the connect flow tested against it
would pass against TikTok too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tests.fakes.tiktok import Fake
from tests.helpers import Clock
from tests.platforms.oauth_drive import (
    HEX_CHALLENGE,
    RFC_CHALLENGE,
    RFC_VERIFIER,
    authorize,
    form_post,
)

AUTHORIZE = "/v2/auth/authorize/"
TOKEN = "/v2/oauth/token/"
REVOKE = "/v2/oauth/revoke/"
REDIRECT = "http://127.0.0.1:41234/v1/oauth/callback/tiktok"
SCOPES = "user.info.basic,user.info.profile,video.publish,video.upload"


@asynccontextmanager
async def tiktok() -> AsyncIterator[tuple[Fake, aiohttp.ClientSession, Clock]]:
    clock = Clock()
    async with Fake(clock=clock) as fake, aiohttp.ClientSession() as http:
        assert isinstance(fake, Fake)
        yield fake, http, clock


def ask(**extra: str) -> dict[str, str]:
    return {
        "client_key": Fake.CLIENT_KEY,
        "scope": SCOPES,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "code_challenge": HEX_CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }


def exchange(code: str, **extra: str) -> dict[str, str]:
    return {
        "client_key": Fake.CLIENT_KEY,
        "client_secret": Fake.CLIENT_SECRET,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code_verifier": RFC_VERIFIER,
        **extra,
    }


async def user(fake: Fake, http: aiohttp.ClientSession, token: str, fields: str) -> Any:
    async with http.get(
        f"{fake.url}/v2/user/info/",
        params={"fields": fields},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        return resp.status, await resp.json()


async def connect(fake: Fake, http: aiohttp.ClientSession, **extra: str) -> dict[str, Any]:
    answer = await authorize(http, fake.url + AUTHORIZE, ask(**extra))
    assert answer.status == 302, answer.text
    status, token = await form_post(http, fake.url + TOKEN, exchange(answer.params["code"]))
    assert status == 200 and "access_token" in token, token
    return token


async def test_desktop_app_connects_with_a_hex_pkce_challenge() -> None:
    async with tiktok() as (fake, http, _):
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.status == 302
        assert answer.redirected_to == REDIRECT  # the registered :* port takes any port
        assert answer.params["state"] == "st-123"
        assert answer.params["scopes"] == SCOPES
        status, token = await form_post(http, fake.url + TOKEN, exchange(answer.params["code"]))
        assert status == 200
        assert token["open_id"] == fake.open_id
        assert token["scope"] == SCOPES
        assert token["access_token"].startswith("act.")
        assert token["refresh_token"].startswith("rft.")
        assert token["expires_in"] == 86_400 and token["refresh_expires_in"] == 31_536_000
        status, info = await user(fake, http, token["access_token"], "open_id,username")
        assert status == 200
        assert info["data"]["user"] == {"open_id": fake.open_id, "username": "octo.demo"}


async def test_client_and_redirect_problems_never_redirect() -> None:
    async with tiktok() as (fake, http, _):
        answer = await authorize(http, fake.url + AUTHORIZE, ask(client_key="nope"))
        assert answer.status == 400 and answer.location == ""
        for bad in (
            "http://127.0.0.1:41234/v1/oauth/callback/other",
            "http://evil.example/v1/oauth/callback/tiktok",
            "http://127.0.0.1/v1/oauth/callback/tiktok",  # desktop URIs carry a port
            REDIRECT + "?x=1",
        ):
            answer = await authorize(http, fake.url + AUTHORIZE, ask(redirect_uri=bad))
            assert answer.status == 400 and answer.location == "", bad
            assert "not registered" in answer.text


async def test_malformed_requests_are_refused_on_the_authorization_page() -> None:
    async with tiktok() as (fake, http, _):
        cases = [
            {"response_type": "token"},
            {"scope": "user.info.basic,video.delete"},
            {"code_challenge": ""},  # a desktop app must send one
            {"code_challenge_method": "plain"},
            {"state": ""},
        ]
        for extra in cases:
            query = {k: v for k, v in ask(**extra).items() if v}
            if "code_challenge" not in query:
                query.pop("code_challenge_method")
            answer = await authorize(http, fake.url + AUTHORIZE, query)
            assert answer.status == 400 and answer.location == "", extra
        assert fake.oauth.codes == {}


async def test_the_test_user_denies() -> None:
    async with tiktok() as (fake, http, _):
        fake.oauth.deny = True
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.params["error"] == "access_denied"
        assert answer.params["state"] == "st-123" and "code" not in answer.params
        assert fake.oauth.codes == {}


async def test_codes_are_single_use_bound_and_expiring() -> None:
    async with tiktok() as (fake, http, clock):
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        code = answer.params["code"]
        status, first = await form_post(http, fake.url + TOKEN, exchange(code))
        assert status == 200
        status, again = await form_post(http, fake.url + TOKEN, exchange(code))
        assert again["error"] == "invalid_grant"
        # a replayed code revokes what its first use issued (RFC 6749 4.1.2)
        status, info = await user(fake, http, first["access_token"], "open_id")
        assert status == 401 and info["error"]["code"] == "access_token_invalid"
        refresh = {
            "client_key": Fake.CLIENT_KEY,
            "client_secret": Fake.CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        }
        assert (await form_post(http, fake.url + TOKEN, refresh))[1]["error"] == "invalid_grant"

        wrong = [
            {"redirect_uri": "http://127.0.0.1:41235/v1/oauth/callback/tiktok"},
            {"code_verifier": "x" * 43},  # another verifier
            {"code_verifier": ""},
            {"client_secret": "wrong"},
        ]
        for extra in wrong:
            code = (await authorize(http, fake.url + AUTHORIZE, ask())).params["code"]
            status, token = await form_post(http, fake.url + TOKEN, exchange(code, **extra))
            assert "access_token" not in token and token["error"], extra
        code = (await authorize(http, fake.url + AUTHORIZE, ask())).params["code"]
        clock.now += 601
        status, token = await form_post(http, fake.url + TOKEN, exchange(code))
        assert token["error"] == "invalid_grant" and "expired" in token["error_description"]


async def test_rfc_base64url_challenge_is_not_what_tiktok_desktop_takes() -> None:
    async with tiktok() as (fake, http, _):
        answer = await authorize(http, fake.url + AUTHORIZE, ask(code_challenge=RFC_CHALLENGE))
        status, token = await form_post(http, fake.url + TOKEN, exchange(answer.params["code"]))
        assert token["error"] == "invalid_grant"


async def test_granted_scopes_may_be_fewer_than_asked() -> None:
    async with tiktok() as (fake, http, _):
        fake.oauth.grant = frozenset({"user.info.basic", "video.publish"})
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.params["scopes"] == "user.info.basic,video.publish"
        status, token = await form_post(http, fake.url + TOKEN, exchange(answer.params["code"]))
        assert token["scope"] == "user.info.basic,video.publish"
        status, info = await user(fake, http, token["access_token"], "open_id,username")
        assert status == 401 and info["error"]["code"] == "scope_not_authorized"
        status, info = await user(fake, http, token["access_token"], "open_id,display_name")
        assert status == 200
        async with http.post(
            f"{fake.url}/v2/post/publish/creator_info/query/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ) as resp:
            assert resp.status == 200  # video.publish was granted


async def test_refresh_rotates_and_revoke_ends_the_grant() -> None:
    async with tiktok() as (fake, http, clock):
        token = await connect(fake, http)
        refresh = {
            "client_key": Fake.CLIENT_KEY,
            "client_secret": Fake.CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
        }
        status, new = await form_post(http, fake.url + TOKEN, refresh)
        assert new["refresh_token"] != token["refresh_token"]
        assert new["scope"] == SCOPES  # a refresh keeps the grant's scopes
        assert (await form_post(http, fake.url + TOKEN, refresh))[1]["error"] == "invalid_grant"
        status, _ = await user(fake, http, new["access_token"], "open_id")
        assert status == 200
        revoke = {
            "client_key": Fake.CLIENT_KEY,
            "client_secret": Fake.CLIENT_SECRET,
            "token": new["access_token"],
        }
        assert await form_post(http, fake.url + REVOKE, revoke) == (200, {})
        status, _ = await user(fake, http, new["access_token"], "open_id")
        assert status == 401
        refresh["refresh_token"] = new["refresh_token"]
        assert (await form_post(http, fake.url + TOKEN, refresh))[1]["error"] == "invalid_grant"
        status, bad = await form_post(http, fake.url + REVOKE, {**revoke, "client_secret": "x"})
        assert bad["error"] == "invalid_client"

        # refresh tokens expire too (365 days; 180 under the 2026 rules)
        fake.refresh_lifetime = 180 * 86_400
        token = await connect(fake, http)
        assert token["refresh_expires_in"] == 180 * 86_400
        clock.now += 180 * 86_400 + 1
        refresh["refresh_token"] = token["refresh_token"]
        assert (await form_post(http, fake.url + TOKEN, refresh))[1]["error"] == "invalid_grant"


async def test_web_app_takes_registered_https_uris_without_pkce() -> None:
    async with tiktok() as (fake, http, _):
        fake.client_type = "web"
        with pytest.raises(ValueError, match="https"):
            fake.register_redirect_uri("http://octopost.example/v1/oauth/callback/tiktok")
        web_uri = "https://octopost.example/v1/oauth/callback/tiktok"
        fake.register_redirect_uri(web_uri)
        answer = await authorize(http, fake.url + AUTHORIZE, ask())
        assert answer.status == 400  # the loopback URI is not registered for a web app
        query = ask(redirect_uri=web_uri)
        del query["code_challenge"], query["code_challenge_method"]
        answer = await authorize(http, fake.url + AUTHORIZE, query)
        assert answer.status == 302 and answer.redirected_to == web_uri
        form = exchange(answer.params["code"], redirect_uri=web_uri)
        del form["code_verifier"]
        status, token = await form_post(http, fake.url + TOKEN, form)
        assert status == 200 and token["open_id"] == fake.open_id
