"""The Connect buttons' server side, in process: CSRF, a platform without an app
configured, the landing page the callback returns to, the outcome on /accounts."""

from __future__ import annotations

from typing import Any

from tests.dashboard.test_pages import _token, sign_in
from tests.helpers import Api


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
