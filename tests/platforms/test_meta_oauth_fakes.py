"""The Threads, Instagram and Facebook fakes' OAuth endpoints are as strict as Meta's.

Driven over real HTTP, without Octopost: the authorize page (the test user approves,
denies or unticks scopes), single-use expiring codes bound to the exact redirect_uri,
the exchange for a long-lived token, the scopes a token was granted, revocation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.fakes import facebook, instagram, threads
from tests.fakes._meta_graph import DAY, MetaGraphFake
from tests.fakes._meta_oauth import CLIENT_ID, CLIENT_SECRET
from tests.helpers import Clock

CALLBACK = "http://127.0.0.1:8080/v1/oauth/callback/threads"


async def get(url: str, **params: str) -> tuple[int, Any, dict[str, str]]:
    """GET without following redirects: (status, JSON or text, headers)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, allow_redirects=False) as resp,
    ):
        text = await resp.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return resp.status, body, dict(resp.headers)


async def post_form(url: str, form: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as resp:
        return resp.status, json.loads(await resp.read())


def redirected(headers: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """The redirect's address (without query), its query and its fragment."""
    parts = urlsplit(headers["Location"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query, parts.fragment


def ask(scope: str, state: str = "st-123", redirect_uri: str = CALLBACK) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "response_type": "code",
        "state": state,
    }


def redeem(code: str, redirect_uri: str = CALLBACK, **over: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
        "code": code,
        **over,
    }


async def authorize(fake: MetaGraphFake, scope: str, **kw: str) -> dict[str, str]:
    status, _, headers = await get(fake.url + "/oauth/authorize", **ask(scope, **kw))
    assert status == 302
    return redirected(headers)[1]


# -- Threads -----------------------------------------------------------------------------
async def test_threads_code_short_long_refresh_and_publish() -> None:
    clock = Clock()
    async with threads.Fake(clock=clock) as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        status, _, headers = await get(
            fake.url + "/oauth/authorize",
            **ask("threads_basic,threads_content_publish", state="abc/+= ?"),
        )
        assert status == 302
        where, query, _ = redirected(headers)
        assert where == CALLBACK and query["state"] == "abc/+= ?" and query["code"]
        status, body = await post_form(fake.url + "/oauth/access_token", redeem(query["code"]))
        assert status == 200 and body["user_id"] == int(fake.user_id)  # a number, as Meta may
        short = body["access_token"]
        # The short-lived token works for an hour, and is exchanged for a 60-day one.
        status, body, _ = await get(
            fake.url + "/access_token",
            grant_type="th_exchange_token",
            client_secret=CLIENT_SECRET,
            access_token=short,
        )
        assert status == 200 and body["expires_in"] > 59 * DAY
        long = body["access_token"]
        assert fake.exchanges == [long]
        status, body, _ = await get(fake.url + "/v1.0/me", access_token=long, fields="id")
        assert (status, body) == (200, {"id": fake.user_id})
        status, body = await post_form(
            fake.url + "/v1.0/me/threads",
            {"media_type": "TEXT", "text": "hi", "access_token": long},
        )
        assert status == 200 and body["id"]
        # Refreshable once a day old; the refreshed token keeps the granted scopes.
        status, body, _ = await get(
            fake.url + "/refresh_access_token", grant_type="th_refresh_token", access_token=long
        )
        assert "too new" in body["error"]["message"]
        clock.now += DAY + 1
        status, body, _ = await get(
            fake.url + "/refresh_access_token", grant_type="th_refresh_token", access_token=long
        )
        assert status == 200
        assert fake.tokens[body["access_token"]].scopes == {
            "threads_basic",
            "threads_content_publish",
        }


async def test_threads_authorize_page_refuses_without_redirecting() -> None:
    async with threads.Fake() as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        cases = {
            "not whitelisted": ask("threads_basic", redirect_uri=CALLBACK + "/"),
            "Invalid App ID": {**ask("threads_basic"), "client_id": "1"},
            "Invalid Scopes: threads_everything": ask("threads_basic,threads_everything"),
            "Missing required scopes: threads_basic": ask("threads_content_publish"),
            "response_type": {**ask("threads_basic"), "response_type": "token"},
        }
        for words, query in cases.items():
            status, body, headers = await get(fake.url + "/oauth/authorize", **query)
            assert status == 400 and "Location" not in headers, words
            assert words in body, words
        assert fake.oauth.codes == {}


async def test_threads_deny_and_declined_scopes() -> None:
    async with threads.Fake() as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        fake.oauth.deny = True
        query = await authorize(fake, "threads_basic,threads_content_publish", state="s1")
        assert query == {
            "error": "access_denied",
            "error_reason": "user_denied",
            "error_description": "Permissions error",
            "state": "s1",
        }
        # The test user approves, but unticks publishing: the token cannot post.
        fake.oauth.decline = {"threads_content_publish"}
        query = await authorize(fake, "threads_basic,threads_content_publish")
        _, body = await post_form(fake.url + "/oauth/access_token", redeem(query["code"]))
        token = body["access_token"]
        assert fake.oauth.authorizations[-1] == (
            {"threads_basic", "threads_content_publish"},
            {"threads_basic"},
        )
        status, _, _ = await get(fake.url + "/v1.0/me", access_token=token)
        assert status == 200
        status, body = await post_form(
            fake.url + "/v1.0/me/threads",
            {"media_type": "TEXT", "text": "x", "access_token": token},
        )
        assert status == 403 and body["error"]["code"] == 10


async def test_threads_codes_are_single_use_expiring_and_bound() -> None:
    clock = Clock()
    async with threads.Fake(clock=clock) as fake:
        other = CALLBACK.replace("8080", "9090")
        fake.oauth.redirect_uris |= {CALLBACK, other}
        url = fake.url + "/oauth/access_token"
        code = (await authorize(fake, "threads_basic"))["code"]
        for form, (error_code, subcode) in [
            (redeem(code, client_secret="wrong"), (1, None)),
            (redeem(code, client_id="42"), (101, None)),
            (redeem(code, redirect_uri=other), (100, 36008)),
            (redeem("AQnope"), (100, None)),
            (redeem(code, grant_type="client_credentials"), (100, None)),
        ]:
            status, body = await post_form(url, form)
            assert status == 400
            assert (body["error"]["code"], body["error"].get("error_subcode")) == (
                error_code,
                subcode,
            ), form
        # None of the refusals spent the code; the first good use does.
        status, _ = await post_form(url, redeem(code))
        assert status == 200
        status, body = await post_form(url, redeem(code))
        assert body["error"]["error_subcode"] == 36009
        assert "has been used" in body["error"]["message"]
        code = (await authorize(fake, "threads_basic"))["code"]
        clock.now += 3601
        status, body = await post_form(url, redeem(code))
        assert body["error"]["error_subcode"] == 36007
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=redeem("x")) as resp,
        ):
            assert resp.status == 400


async def test_threads_exchange_rules_and_revocation() -> None:
    clock = Clock()
    async with threads.Fake(clock=clock) as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        code = (await authorize(fake, "threads_basic"))["code"]
        _, body = await post_form(fake.url + "/oauth/access_token", redeem(code))
        short = body["access_token"]
        exchange = fake.url + "/access_token"
        _, body, _ = await get(
            exchange, grant_type="th_exchange_token", client_secret="no", access_token=short
        )
        assert body["error"]["message"] == "Error validating client secret."
        _, body, _ = await get(
            fake.url + "/refresh_access_token", grant_type="th_refresh_token", access_token=short
        )
        assert "short-lived" in body["error"]["message"]
        _, body, _ = await get(
            exchange,
            grant_type="th_exchange_token",
            client_secret=CLIENT_SECRET,
            access_token=fake.token,
        )
        assert "Only a short-lived" in body["error"]["message"]
        clock.now += 3601  # an expired short-lived token cannot be exchanged
        _, body, _ = await get(
            exchange,
            grant_type="th_exchange_token",
            client_secret=CLIENT_SECRET,
            access_token=short,
        )
        assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 463)
        # The user removes the app: every token is gone, refreshing included.
        fake.revoke()
        _, body, _ = await get(fake.url + "/v1.0/me", access_token=fake.token)
        assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 458)
        _, body, _ = await get(
            fake.url + "/refresh_access_token",
            grant_type="th_refresh_token",
            access_token=fake.token,
        )
        assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 458)


# -- Instagram ---------------------------------------------------------------------------
@pytest.mark.parametrize("flat", [False, True])
async def test_instagram_login_flow(flat: bool) -> None:
    async with instagram.Fake() as fake:
        fake.flat_token = flat
        fake.oauth.redirect_uris.add(CALLBACK)
        scopes = "instagram_business_basic,instagram_business_content_publish"
        status, _, headers = await get(fake.url + "/oauth/authorize", **ask(scopes, state="q"))
        assert status == 302
        _, query, fragment = redirected(headers)
        assert fragment == "_" and query["state"] == "q"  # Instagram's trailing "#_"
        status, body = await post_form(fake.url + "/oauth/access_token", redeem(query["code"]))
        assert status == 200
        answer = body if flat else body["data"][0]
        assert answer["permissions"] == scopes
        assert answer["user_id"] == instagram.APP_SCOPED_ID != fake.user_id
        status, body, _ = await get(
            fake.url + "/access_token",
            grant_type="ig_exchange_token",
            client_secret=CLIENT_SECRET,
            access_token=answer["access_token"],
        )
        assert status == 200 and body["expires_in"] > 59 * DAY
        _, me, _ = await get(
            fake.url + "/v25.0/me", access_token=body["access_token"], fields="user_id,username"
        )
        assert me["user_id"] == fake.user_id
        # The wrong grant for this platform is refused.
        _, wrong, _ = await get(
            fake.url + "/access_token",
            grant_type="th_exchange_token",
            client_secret=CLIENT_SECRET,
            access_token=answer["access_token"],
        )
        assert wrong["error"]["message"] == "Unsupported grant_type"


async def test_instagram_refusals_are_flat_and_old_scopes_are_gone() -> None:
    async with instagram.Fake() as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        status, body, _ = await get(
            fake.url + "/oauth/authorize", **ask("business_basic,business_content_publish")
        )
        assert status == 400 and "Invalid Scopes: business_basic" in body
        code = (await authorize(fake, "instagram_business_basic"))["code"]
        await post_form(fake.url + "/oauth/access_token", redeem(code))
        status, body = await post_form(fake.url + "/oauth/access_token", redeem(code))
        assert status == 400
        assert body == {
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "This authorization code has been used.",
        }


# -- Facebook ----------------------------------------------------------------------------
async def facebook_login(
    fake: facebook.Fake, scope: str, *, long_lived: bool = True
) -> tuple[str, dict[str, str]]:
    fake.oauth.redirect_uris.add(CALLBACK)
    status, _, headers = await get(fake.url + "/v25.0/dialog/oauth", **ask(scope, state="fb"))
    assert status == 302
    _, query, _ = redirected(headers)
    assert query["state"] == "fb"
    # an OAuth client POSTs the form (Meta's examples GET it: both work)
    status, body = await post_form(
        fake.url + "/v25.0/oauth/access_token",
        {
            "client_id": CLIENT_ID,
            "client_secret": fake.oauth.client_secret,
            "grant_type": "authorization_code",
            "redirect_uri": CALLBACK,
            "code": query["code"],
        },
    )
    assert status == 200 and body["expires_in"] <= 7200
    if not long_lived:
        return body["access_token"], query
    status, body, _ = await get(
        fake.url + "/v25.0/oauth/access_token",
        grant_type="fb_exchange_token",
        client_id=CLIENT_ID,
        client_secret=fake.oauth.client_secret,
        fb_exchange_token=body["access_token"],
    )
    assert status == 200 and body["expires_in"] > 59 * DAY
    return body["access_token"], query


PAGE_SCOPES = "pages_show_list,pages_read_engagement,pages_manage_posts"


async def test_facebook_login_lists_pages_whose_tokens_publish() -> None:
    clock = Clock()
    async with facebook.Fake(clock=clock) as fake:
        user, _ = await facebook_login(fake, PAGE_SCOPES)
        status, body, _ = await get(
            fake.url + "/v25.0/me/accounts",
            access_token=user,
            fields="id,name,access_token,tasks",
            limit="1",
        )
        assert status == 200 and [p["id"] for p in body["data"]] == [fake.PAGE_ID]
        page_token = body["data"][0]["access_token"]
        assert "CREATE_CONTENT" in body["data"][0]["tasks"]
        status, more, _ = await get(body["paging"]["next"], access_token=user)
        assert [p["id"] for p in more["data"]] == [fake.OTHER_PAGE_ID]
        assert "next" not in more["paging"]
        # The Page token publishes; the user token does not (#200).
        async with aiohttp.ClientSession() as session:
            for token, expected in ((user, 403), (page_token, 200)):
                async with session.post(
                    f"{fake.url}/v25.0/{fake.PAGE_ID}/feed",
                    data={"message": "Hello", "access_token": token},
                ) as resp:
                    assert resp.status == expected
        # A Page token from a long-lived user token outlives the user token's 60 days.
        clock.now += 61 * DAY
        status, me, _ = await get(fake.url + "/v25.0/me", access_token=page_token)
        assert (status, me["id"]) == (200, fake.PAGE_ID)
        status, body, _ = await get(fake.url + "/v25.0/me", access_token=user)
        assert body["error"]["error_subcode"] == 463
        fake.revoke()
        _, body, _ = await get(fake.url + "/v25.0/me", access_token=page_token)
        assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 458)


async def test_facebook_chosen_pages_declined_scopes_and_short_tokens() -> None:
    clock = Clock()
    async with facebook.Fake(clock=clock) as fake:
        fake.granted_pages = {fake.OTHER_PAGE_ID}
        fake.oauth.decline = {"pages_manage_posts"}
        user, _ = await facebook_login(fake, PAGE_SCOPES, long_lived=False)
        _, body, _ = await get(fake.url + "/v25.0/me/accounts", access_token=user)
        assert [p["id"] for p in body["data"]] == [fake.OTHER_PAGE_ID]
        page_token = body["data"][0]["access_token"]
        _, perms, _ = await get(fake.url + "/v25.0/me/permissions", access_token=user)
        assert {"permission": "pages_manage_posts", "status": "declined"} in perms["data"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{fake.url}/v25.0/{fake.OTHER_PAGE_ID}/feed",
                data={"message": "Hello", "access_token": page_token},
            ) as resp,
        ):
            assert resp.status == 403 and (await resp.json())["error"]["code"] == 200
        # Derived from a short-lived user token, the Page token dies with it.
        clock.now += 7201
        _, body, _ = await get(fake.url + "/v25.0/me", access_token=page_token)
        assert body["error"]["error_subcode"] == 463
        # Without pages_show_list there is no list.
        fake.oauth.decline = {"pages_show_list"}
        user, _ = await facebook_login(fake, PAGE_SCOPES)
        status, body, _ = await get(fake.url + "/v25.0/me/accounts", access_token=user)
        assert status == 403 and body["error"]["code"] == 10


async def test_facebook_code_refusals() -> None:
    clock = Clock()
    async with facebook.Fake(clock=clock) as fake:
        fake.oauth.redirect_uris.add(CALLBACK)
        url = fake.url + "/v25.0/oauth/access_token"

        async def code() -> str:
            _, _, headers = await get(fake.url + "/v25.0/dialog/oauth", **ask(PAGE_SCOPES))
            return redirected(headers)[1]["code"]

        def params(value: str, **over: str) -> dict[str, str]:
            base = {
                "client_id": CLIENT_ID,
                "client_secret": fake.oauth.client_secret,
                "redirect_uri": CALLBACK,
                "code": value,
            }
            return {**base, **over}

        first = await code()
        _, body, _ = await get(url, **params(first, redirect_uri=CALLBACK + "?x=1"))
        assert body["error"]["error_subcode"] == 36008
        _, body, _ = await get(url, **params(first, client_secret="x"))
        assert body["error"]["code"] == 1
        status, _, _ = await get(url, **params(first))
        assert status == 200
        _, body, _ = await get(url, **params(first))
        assert body["error"]["error_subcode"] == 36009
        late = await code()
        clock.now += 601  # Facebook's codes are short-lived
        _, body, _ = await get(url, **params(late))
        assert body["error"]["error_subcode"] == 36007
        _, body, _ = await get(
            url,
            grant_type="fb_exchange_token",
            client_id=CLIENT_ID,
            client_secret=fake.oauth.client_secret,
            fb_exchange_token=fake.PAGE_TOKEN,
        )
        assert body["error"]["code"] == 190
        fake.oauth.deny = True
        _, _, headers = await get(fake.url + "/v25.0/dialog/oauth", **ask(PAGE_SCOPES, state="z"))
        assert redirected(headers)[1]["error"] == "access_denied"


async def test_facebook_page_tokens_need_the_create_content_task() -> None:
    async with facebook.Fake() as fake:
        fake.pages[fake.PAGE_ID].tasks = ["ANALYZE"]
        user, _ = await facebook_login(fake, PAGE_SCOPES)
        _, body, _ = await get(fake.url + "/v25.0/me/accounts", access_token=user)
        page = next(p for p in body["data"] if p["id"] == fake.PAGE_ID)
        assert page["tasks"] == ["ANALYZE"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{fake.url}/v25.0/{fake.PAGE_ID}/feed",
                data={"message": "Hello", "access_token": page["access_token"]},
            ) as resp,
        ):
            assert resp.status == 403
