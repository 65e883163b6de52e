"""The Connect buttons' server side, in process: CSRF, a platform without an app
configured, the landing page the callback returns to, the outcome on /accounts."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from octopost.platforms import ADAPTERS
from octopost.platforms._connect import Choice
from tests.dashboard.test_pages import _token, sign_in
from tests.fakes.youtube import Fake
from tests.helpers import Api, make_config, running_api
from tests.oauth_flow import oauth_env


async def test_the_connect_button_needs_the_csrf_token(api: Api) -> None:
    await sign_in(api.client, api.key)
    resp = await api.client.post("/accounts/tiktok/oauth", data={})
    assert resp.status_code == 403


async def test_without_an_app_the_button_says_which_keys_to_set(api: Api) -> None:
    csrf = await sign_in(api.client, api.key)
    resp = await api.client.post("/accounts/youtube/oauth", data={"csrf_token": csrf})
    assert resp.status_code == 303 and resp.headers["location"] == "/accounts"
    page = (await api.client.get("/accounts")).text
    assert "Not connected: Connecting YouTube needs your own YouTube app" in page
    assert "platforms.youtube.client_id" in page
    assert (await api.get("/v1/accounts")).json()["accounts"] == []


async def test_every_oauth_platform_has_a_button_and_pasting_stays(api: Api) -> None:
    await sign_in(api.client, api.key)
    page = (await api.client.get("/accounts")).text
    for platform in ("twitter", "tiktok", "youtube"):
        assert f'action="/accounts/{platform}/oauth"' in page
        assert f'href="/accounts/{platform}/connect"' in page  # "Paste tokens instead"
    assert 'action="/accounts/bluesky/oauth"' not in page  # app passwords
    assert _token(page)


async def test_the_landing_page_needs_no_session_and_passes_only_the_outcome(api: Any) -> None:
    resp = await api.client.get(
        "/accounts/connected?connected=tiktok&account=acc_1&next=https://evil.example"
    )
    assert resp.status_code == 200
    assert 'content="0;url=/accounts?connected=tiktok&amp;account=acc_1"' in resp.text
    assert "evil" not in resp.text
    resp = await api.client.get("/accounts/connected?choose=youtube&connection=conn_x")
    assert 'url=/accounts/choose/conn_x"' in resp.text


async def test_the_callbacks_error_is_shown_escaped(api: Api) -> None:
    await sign_in(api.client, api.key)
    page = await api.client.get(
        "/accounts",
        params={"error": "access_denied", "error_description": "<b>You said no</b>"},
    )
    assert 'role="alert"' in page.text
    assert "Not connected: &lt;b&gt;You said no&lt;/b&gt;" in page.text


async def test_choices_of_another_key_or_none_are_not_found(api: Api) -> None:
    csrf = await sign_in(api.client, api.key)
    assert (await api.client.get("/accounts/choose/conn_nope")).status_code == 404
    resp = await api.client.post(
        "/accounts/choose/conn_nope", data={"csrf_token": csrf, "choice": "x"}
    )
    assert resp.status_code == 404


async def test_a_grant_with_several_channels_leads_to_the_chooser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole dashboard round trip in process, with YouTube's `choices` made to offer
    two channels (a real grant lists the one picked in Google's chooser): the button ->
    the fake's authorize page -> the callback -> the landing page -> the chooser -> the
    chosen channel is connected."""
    flow = ADAPTERS["youtube"].oauth
    assert flow is not None and flow.choices is not None
    real = flow.choices

    async def two(ctx: Any, creds: dict[str, Any]) -> list[Choice]:
        found = await real(ctx, creds)
        return [*found, Choice("UCsecond0000000000000000", "Second channel", "second")]

    monkeypatch.setattr(ADAPTERS["youtube"], "oauth", dataclasses.replace(flow, choices=two))
    fake = Fake()
    fake.client_type = "web"
    async with fake, running_api(make_config(tmp_path, **oauth_env(fake))) as api:
        csrf = await sign_in(api.client, api.key)
        leaving = await api.client.post("/accounts/youtube/oauth", data={"csrf_token": csrf})
        assert leaving.status_code == 200
        found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', leaving.text)
        assert found, leaving.text
        authorize_url = html.unescape(found.group(1))
        async with httpx.AsyncClient() as platform:
            callback = (await platform.get(authorize_url)).headers["Location"]
        back = await api.client.get(callback)  # the callback, in process
        assert back.status_code == 303
        assert urlsplit(back.headers["Location"]).path == "/accounts/connected"
        landing = await api.client.get(back.headers["Location"])
        target = re.search(r'content="0;url=([^"]+)"', landing.text)
        assert target and target.group(1).startswith("/accounts/choose/conn_")
        chooser = await api.client.get(target.group(1))
        assert "Octo Channel" in chooser.text and "Second channel" in chooser.text
        csrf = _token(chooser.text)
        done = await api.client.post(
            target.group(1), data={"csrf_token": csrf, "choice": "UCfakeChannel0123456789"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/accounts"
        page = (await api.client.get("/accounts")).text
        assert "Connected YouTube as @octochannel." in page
        (account,) = (await api.get("/v1/accounts")).json()["accounts"]
        record = await api.services.store.accounts.get(account["id"])
        assert record is not None
        creds = api.services.accounts.box.open(record.credentials_enc)
    assert creds["channel_id"] == "UCfakeChannel0123456789"
